"""The evaluation report: per-question results, rates, latency percentiles; JSON or rich tables."""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from chatbi.eval.judge import CORRECT_OUTCOMES, OUTCOMES

STAGES = ("plan", "sql", "chart", "finding", "total")
LLM_KEYS = ("llm_calls", "prompt_chars")


@dataclass
class QuestionResult:
    """One scored question (a turn of a case) and what became of it."""

    case_id: str
    turn: int  # 1-based position in the case's conversation
    question: str
    language: str
    capability: str
    expected: str  # "gold" or the expected intents joined by "/"
    outcome: str
    detail: str = ""
    group: str = ""
    style: str = ""
    intent: str | None = None
    planner: str | None = None
    columns: list[str] = field(default_factory=list)
    row_count: int = 0
    semantic_query: dict[str, Any] | None = None
    error: dict[str, str] | None = None
    timings_ms: dict[str, float] = field(default_factory=dict)
    llm_calls: int | None = None
    prompt_chars: int | None = None

    @property
    def is_correct(self) -> bool:
        return self.outcome in CORRECT_OUTCOMES

    def to_dict(self) -> dict[str, Any]:
        return {
            "case_id": self.case_id, "turn": self.turn, "question": self.question,
            "language": self.language, "capability": self.capability, "expected": self.expected,
            "group": self.group, "style": self.style,
            "outcome": self.outcome, "correct": self.is_correct, "detail": self.detail,
            "intent": self.intent, "planner": self.planner, "columns": self.columns,
            "row_count": self.row_count, "semantic_query": self.semantic_query, "error": self.error,
            "timings_ms": {k: round(v, 2) for k, v in self.timings_ms.items()},
            "llm_calls": self.llm_calls, "prompt_chars": self.prompt_chars,
        }


def percentile(values: Sequence[float], q: float) -> float | None:
    """Linear-interpolated percentile (q in 0..100); None for no values."""
    data = sorted(values)
    if not data:
        return None
    position = (len(data) - 1) * q / 100
    low, high = math.floor(position), math.ceil(position)
    return data[low] + (data[high] - data[low]) * (position - low)


def _rate(count: int, total: int) -> float:
    return count / total if total else 0.0


@dataclass
class EvalReport:
    """Everything one run of a question set produced."""

    results: list[QuestionResult]
    sources: list[str] = field(default_factory=list)
    case_count: int = 0
    as_of_expected: str | None = None
    as_of_warehouse: str | None = None
    warnings: list[str] = field(default_factory=list)
    duration_s: float = 0.0

    # ---- figures ---------------------------------------------------------------------
    @property
    def total(self) -> int:
        return len(self.results)

    def counts(self, results: Iterable[QuestionResult] | None = None) -> dict[str, int]:
        found = Counter(r.outcome for r in (self.results if results is None else results))
        return {name: found.get(name, 0) for name in OUTCOMES}

    def summary(self, results: Sequence[QuestionResult] | None = None) -> dict[str, Any]:
        rows = list(self.results if results is None else results)
        total = len(rows)
        counts = self.counts(rows)
        return {
            "questions": total,
            "execution_accuracy": _rate(sum(r.is_correct for r in rows), total),
            "clarify_rate": _rate(sum(r.intent == "clarify" for r in rows), total),
            "refuse_rate": _rate(sum(r.intent == "refuse" for r in rows), total),
            "wrong_rate": _rate(counts["wrong"], total),
            "error_rate": _rate(counts["error"], total),
            "outcomes": counts,
        }

    @property
    def execution_accuracy(self) -> float:
        return self.summary()["execution_accuracy"]

    @property
    def wrong_rate(self) -> float:
        return self.summary()["wrong_rate"]

    def latency(self) -> dict[str, dict[str, float | None]]:
        """p50/p95 (ms) per stage, over the questions whose answer timed that stage."""
        out: dict[str, dict[str, float | None]] = {}
        for stage in STAGES:
            values = [r.timings_ms[stage] for r in self.results if stage in r.timings_ms]
            out[stage] = {"p50": _round(percentile(values, 50)), "p95": _round(percentile(values, 95)),
                          "n": len(values)}
        return out

    def llm_usage(self) -> dict[str, int | None]:
        calls = [r.llm_calls for r in self.results if r.llm_calls is not None]
        chars = [r.prompt_chars for r in self.results if r.prompt_chars is not None]
        return {"llm_calls": sum(calls) if calls else None, "prompt_chars": sum(chars) if chars else None}

    def planners(self) -> dict[str, int]:
        return dict(Counter(r.planner or "unknown" for r in self.results))

    def breakdown(self, key: str) -> dict[str, dict[str, Any]]:
        groups: dict[str, list[QuestionResult]] = defaultdict(list)
        for result in self.results:
            groups[str(getattr(result, key))].append(result)
        return {name: self.summary(rows) for name, rows in sorted(groups.items())}

    def failures(self) -> list[QuestionResult]:
        return [r for r in self.results if not r.is_correct]

    # ---- output ----------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return {
            "sources": self.sources,
            "cases": self.case_count,
            "as_of": {"question_set": self.as_of_expected, "warehouse": self.as_of_warehouse},
            "warnings": self.warnings,
            "duration_s": round(self.duration_s, 2),
            "summary": self.summary(),
            "latency_ms": self.latency(),
            "planners": self.planners(),
            "llm": self.llm_usage(),
            "by_language": self.breakdown("language"),
            "by_capability": self.breakdown("capability"),
            "by_group": self.breakdown("group"),
            "by_style": self.breakdown("style"),
            "results": [r.to_dict() for r in self.results],
        }

    def summary_lines(self) -> list[str]:
        """A few plain lines (for channels that print text rather than rich tables)."""
        summary = self.summary()
        lines = [
            f"questions {self.total} ({self.case_count} cases): execution accuracy "
            f"{_pct(summary['execution_accuracy'])}, wrong {_pct(summary['wrong_rate'])}, "
            f"clarify {_pct(summary['clarify_rate'])}, refuse {_pct(summary['refuse_rate'])}, "
            f"error {_pct(summary['error_rate'])}",
            "latency ms (p50/p95): " + ", ".join(
                f"{stage} {_ms(v['p50'])}/{_ms(v['p95'])}" for stage, v in self.latency().items()),
        ]
        lines += [f"not correct: {r.case_id}#{r.turn} [{r.outcome}] {r.question} — {r.detail}"
                  for r in self.failures()]
        lines += [f"warning: {w}" for w in self.warnings]
        return lines

    def render(self, console: Any, *, max_failures: int = 60) -> None:
        """Print the summary, latency, breakdowns and the failed questions as rich tables."""
        from rich.table import Table

        summary = self.summary()
        head = Table(title="ChatBI eval", show_header=False)
        head.add_column("measure")
        head.add_column("value", justify="right")
        head.add_row("questions (cases)", f"{self.total} ({self.case_count})")
        head.add_row("execution accuracy", _pct(summary["execution_accuracy"]))
        head.add_row("wrong-answer rate", _pct(summary["wrong_rate"]))
        head.add_row("clarify rate", _pct(summary["clarify_rate"]))
        head.add_row("refuse rate", _pct(summary["refuse_rate"]))
        head.add_row("error rate", _pct(summary["error_rate"]))
        head.add_row("planner", ", ".join(f"{k}: {v}" for k, v in self.planners().items()))
        usage = self.llm_usage()
        if usage["llm_calls"] is not None or usage["prompt_chars"] is not None:
            head.add_row("LLM calls / prompt chars", f"{usage['llm_calls']} / {usage['prompt_chars']}")
        head.add_row("as-of (set / warehouse)", f"{self.as_of_expected} / {self.as_of_warehouse}")
        head.add_row("duration", f"{self.duration_s:.1f} s")
        console.print(head)

        outcomes = Table(title="outcomes")
        outcomes.add_column("outcome")
        outcomes.add_column("questions", justify="right")
        for name, count in summary["outcomes"].items():
            outcomes.add_row(name, str(count))
        console.print(outcomes)

        latency = Table(title="latency (ms)")
        latency.add_column("stage")
        latency.add_column("p50", justify="right")
        latency.add_column("p95", justify="right")
        latency.add_column("n", justify="right")
        for stage, values in self.latency().items():
            latency.add_row(stage, _ms(values["p50"]), _ms(values["p95"]), str(values["n"]))
        console.print(latency)

        for key, title in (("language", "by language"), ("group", "by user group"), ("style", "by style"),
                           ("capability", "by capability")):
            table = Table(title=title)
            for column in (key, "questions", "accuracy", "wrong", "clarified", "refused", "error"):
                table.add_column(column, justify="left" if column == key else "right")
            for name, figures in self.breakdown(key).items():
                counts = figures["outcomes"]
                table.add_row(name, str(figures["questions"]), _pct(figures["execution_accuracy"]),
                              str(counts["wrong"]), str(counts["clarified"]), str(counts["refused"]),
                              str(counts["error"]))
            console.print(table)

        failures = self.failures()
        if failures:
            table = Table(title=f"not correct ({len(failures)})")
            for column in ("case", "outcome", "question", "detail"):
                table.add_column(column, overflow="fold")
            for result in failures[:max_failures]:
                case = result.case_id + (f"#{result.turn}" if result.turn > 1 else "")
                table.add_row(case, result.outcome, result.question, result.detail)
            console.print(table)
            if len(failures) > max_failures:
                console.print(f"… {len(failures) - max_failures} more (use --json for all)")
        for warning in self.warnings:
            console.print(f"warning: {warning}", style="yellow", markup=False)


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


def _pct(value: float) -> str:
    return f"{value * 100:.1f}%"


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"
