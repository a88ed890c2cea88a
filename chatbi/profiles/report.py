"""The build report: what was built, how well the models validated, how long each step took."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import date

from chatbi.profiles.churn import ChurnResult
from chatbi.profiles.clv import ClvResult


def _fmt(x: float | None, pattern: str = "{:.3f}") -> str:
    return "n/a" if x is None else pattern.format(x)


@dataclass(frozen=True)
class BuildReport:
    """Result of :func:`chatbi.profiles.build_profiles`."""

    as_of: date
    row_counts: dict[str, int]
    churn: ChurnResult
    clv: ClvResult
    sentiment_method: str
    alert_count: int
    step_seconds: dict[str, float]
    missing_optional_tables: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    step_cpu_seconds: dict[str, float] = field(default_factory=dict)
    extra_row_counts: dict[str, int] = field(default_factory=dict)
    elapsed_seconds: float = 0.0

    @property
    def churn_auc(self) -> float | None:
        return self.churn.auc

    @property
    def baseline_auc(self) -> float | None:
        return self.churn.baseline_auc


    def summary_lines(self) -> list[str]:
        """Short human-readable lines for the CLI."""
        counts = ", ".join(f"{k} {v:,}" for k, v in self.row_counts.items())
        c, v = self.churn, self.clv
        lines = [
            f"画像构建完成 / profiles built as of {self.as_of.isoformat()} "
            f"in {self.elapsed_seconds:.1f}s",
            f"rows: {counts}",
            f"churn model ({c.method}): held-out AUC {_fmt(c.auc)} vs recency-only baseline "
            f"{_fmt(c.baseline_auc)} (train cut-off {c.train_cutoff}, validated on "
            f"{c.valid_cutoff}, {c.valid_rows:,} customers)",
            f"CLV ({v.method}, {v.horizon_days}-day horizon): holdout corr {_fmt(v.corr)} / "
            f"MAE {_fmt(v.mae, '{:,.1f}')} vs naive corr {_fmt(v.naive_corr)} / "
            f"MAE {_fmt(v.naive_mae, '{:,.1f}')}",
            f"review sentiment: {self.sentiment_method}",
            f"alerts: {self.alert_count}",
            "steps: " + ", ".join(f"{k} {s:.1f}s" for k, s in self.step_seconds.items())
            + " (review sentiment runs alongside the steps after it)",
            f"CPU time {sum(self.step_cpu_seconds.values()):.1f}s (all threads)",
        ]
        if self.extra_row_counts:
            lines.append("other tables: " + ", ".join(
                f"{k} {v:,}" for k, v in self.extra_row_counts.items()))
        if self.missing_optional_tables:
            lines.append("missing optional tables (derived columns are NULL): "
                         + ", ".join(self.missing_optional_tables))
        lines += [f"note: {n}" for n in self.notes]
        return lines

    def to_json(self) -> str:
        """The whole report as JSON (dates as ISO strings)."""
        return json.dumps(asdict(self), ensure_ascii=False, default=str)
