"""The realistic question sets (issue 16) through the real pipeline on the small demo warehouse.

Their gold SQL was written by hand for a small demo warehouse with the default end date
(as-of 2026-09-30) and the default seed — the one ``make run`` builds. ``dev/`` is the development part;
``test/`` is the held-out part, run and never tuned on. The floors below are set under the
figures recorded in docs/benchmarks.md, so a regression in understanding fails here; the
goals (≥ 95 % / ≤ 1 %) are measured there, not asserted.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from chatbi.eval import EvalReport, load_question_set, run_eval

REALISTIC = Path(__file__).resolve().parent / "realistic"
pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]  # builds the small warehouse, then ~750 questions: ~2 minutes

#: floors per part: execution accuracy at least, confident-wrong rate at most
FLOORS = {"dev": (0.91, 0.035), "test": (0.77, 0.09)}  # measured 2026-12-07: dev 94.0 % / 2.0 %, test 79.4 % / 7.6 %


@pytest.fixture(scope="module")
def small_pipeline(tmp_path_factory: pytest.TempPathFactory) -> Any:
    from chatbi.answer.pipeline import Pipeline
    from chatbi.config import Settings
    from chatbi.profiles.build import build_profiles
    from chatbi.warehouse.demo import generate_demo

    path = tmp_path_factory.mktemp("realistic") / "small.duckdb"
    generate_demo(path, scale="small")  # the default seed, as `chatbi init --demo --scale small`
    build_profiles(path)
    pipeline = Pipeline(replace(Settings.from_env(db_path=path), planner="offline", openai_api_key=None))
    yield pipeline
    pipeline.close()


@pytest.fixture(scope="module", params=["dev", "test"])
def part(request: pytest.FixtureRequest, small_pipeline: Any) -> tuple[str, EvalReport]:
    return request.param, run_eval(load_question_set(REALISTIC / request.param), small_pipeline)


def _failures(report: EvalReport, outcomes: tuple[str, ...]) -> str:
    return "\n".join(f"{r.case_id}#{r.turn} [{r.outcome}] {r.question}: {r.detail}"
                     for r in report.results if r.outcome in outcomes)


def test_the_sets_are_what_issue_16_asks_for() -> None:
    dev, test = load_question_set(REALISTIC / "dev"), load_question_set(REALISTIC / "test")
    cases = [*dev.cases, *test.cases]
    turns = [(c, t) for c in cases for t in c.turns]
    assert len(turns) + len(load_question_set(REALISTIC.parent).cases) >= 700
    assert sum(c.style == "colloquial" for c, _ in turns) >= 0.4 * len(turns)
    assert sum(len(c.turns) >= 3 for c in cases) >= 80
    assert sum(set(t.expect) == {"clarify", "refuse"} for _, t in turns) >= 80
    assert {c.group for c in cases} == {"manager", "marketer", "operations", "merchant"}
    assert not {c.id for c in dev.cases} & {c.id for c in test.cases}


def test_no_product_errors(part: tuple[str, EvalReport]) -> None:
    name, report = part
    assert not [r for r in report.results if r.outcome == "error"], _failures(report, ("error",))


def test_every_unanswerable_question_is_refused_or_clarified(part: tuple[str, EvalReport]) -> None:
    name, report = part
    unanswerable = [r for r in report.results if r.expected in ("clarify/refuse", "refuse/clarify")]
    answered = [r for r in unanswerable if r.outcome not in ("clarified_correctly", "refused_correctly")]
    assert unanswerable and not answered, "\n".join(f"{r.case_id}#{r.turn} {r.question}" for r in answered)


def test_accuracy_and_confident_wrong_floors(part: tuple[str, EvalReport]) -> None:
    name, report = part
    accuracy, wrong = FLOORS[name]
    summary = report.summary()
    message = (f"{name}: accuracy {summary['execution_accuracy']:.1%} (floor {accuracy:.0%}), "
               f"wrong {summary['wrong_rate']:.1%} (ceiling {wrong:.0%})")
    if name == "dev":  # the held-out part's individual failures are not printed: it is not tuned on
        message += "\n" + _failures(report, ("wrong",))
    assert summary["execution_accuracy"] >= accuracy and summary["wrong_rate"] <= wrong, message
