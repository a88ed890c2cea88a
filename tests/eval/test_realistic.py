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

EVAL = Path(__file__).resolve().parent
REALISTIC = EVAL / "realistic"
pytestmark = [pytest.mark.slow, pytest.mark.timeout(1200)]  # builds the small warehouse, then ~1,500 questions: ~3 minutes

#: floors per part: execution accuracy at least, confident-wrong rate at most, and how many
#: unanswerable questions may still be answered. Three generations of questions, each written
#: by people who never read the planner: realistic/ (2026-12-07), realistic_b/ and realistic_c/
#: (2026-12-08, written fresh to measure what the first set's fixes did not cover). Measured
#: 2026-12-08 (docs/benchmarks.md): realistic dev 97.4 % / 0.6 %, test 83.8 % / 6.9 %;
#: realistic_b dev 86.7 % / 5.8 %, test 52.6 % / 14.8 % (held out, 4 of 27 unanswerable answered);
#: realistic_c dev 76.0 % / 6.8 %.
FLOORS = {
    "realistic/dev": (0.95, 0.02, 0), "realistic/test": (0.80, 0.09, 0),
    "realistic_b/dev": (0.83, 0.08, 0), "realistic_b/test": (0.48, 0.17, 5),
    "realistic_c/dev": (0.72, 0.09, 0),
}
HELD_OUT = {"realistic/test", "realistic_b/test"}  # run, never tuned on: failures are not printed


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


@pytest.fixture(scope="module", params=list(FLOORS))
def part(request: pytest.FixtureRequest, small_pipeline: Any) -> tuple[str, EvalReport]:
    return request.param, run_eval(load_question_set(EVAL / request.param), small_pipeline)


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
    assert not [r for r in report.results if r.outcome == "error"], name if name in HELD_OUT else _failures(report, ("error",))


def test_every_unanswerable_question_is_refused_or_clarified(part: tuple[str, EvalReport]) -> None:
    name, report = part
    unanswerable = [r for r in report.results if r.expected in ("clarify/refuse", "refuse/clarify")]
    answered = [r for r in unanswerable if r.outcome not in ("clarified_correctly", "refused_correctly")]
    shown = "" if name in HELD_OUT else "\n".join(f"{r.case_id}#{r.turn} {r.question}" for r in answered)
    assert unanswerable and len(answered) <= FLOORS[name][2], f"{name}: {len(answered)} answered\n{shown}"


def test_accuracy_and_confident_wrong_floors(part: tuple[str, EvalReport]) -> None:
    name, report = part
    accuracy, wrong, _ = FLOORS[name]
    summary = report.summary()
    message = (f"{name}: accuracy {summary['execution_accuracy']:.1%} (floor {accuracy:.0%}), "
               f"wrong {summary['wrong_rate']:.1%} (ceiling {wrong:.0%})")
    if name not in HELD_OUT:  # the held-out parts' individual failures are not printed: they are not tuned on
        message += "\n" + _failures(report, ("wrong",))
    assert summary["execution_accuracy"] >= accuracy and summary["wrong_rate"] <= wrong, message
