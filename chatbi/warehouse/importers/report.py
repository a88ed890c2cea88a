"""What an import returns (``ImportReport``) and how it fails (``ImportInvalidError``)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from chatbi.errors import UserInputError

MAX_PROBLEMS_SHOWN = 50


class ImportInvalidError(UserInputError):
    """The source folder cannot be imported; ``problems`` lists every issue found.

    Raised before the warehouse is touched, so the previous warehouse stays as it was.
    """

    code = "import_invalid"

    def __init__(self, problems: list[str], source_dir: Path):
        shown = problems[:MAX_PROBLEMS_SHOWN]
        more = len(problems) - len(shown)
        lines = [f"  {i}. {p}" for i, p in enumerate(shown, 1)]
        if more > 0:
            lines.append(f"  … 另有 {more} 个问题 / {more} more problems")
        message = (f"无法导入 {source_dir}：发现 {len(problems)} 个问题，数据仓库未改动 / "
                   f"cannot import {source_dir}: {len(problems)} problem(s) found, the warehouse "
                   f"was not changed:\n" + "\n".join(lines))
        super().__init__(message, code="import_invalid", detail="\n".join(problems))
        self.problems = list(problems)


@dataclass(frozen=True)
class ImportReport:
    """Summary of one import: where from, where to, what was loaded and what was not."""

    source: str  # "olist" or "csv"
    source_dir: Path
    db_path: Path
    row_counts: Mapping[str, int]
    notes: tuple[str, ...] = ()
    skipped_tables: tuple[str, ...] = ()  # optional tables absent from the source: created empty
    elapsed_seconds: float = 0.0
    files: Mapping[str, str] = field(default_factory=dict)  # raw table → file it came from

    def summary_lines(self) -> list[str]:
        """Human-readable lines for the command line."""
        counts = ", ".join(f"{t} {n:,}" for t, n in self.row_counts.items())
        lines = [f"导入 / imported {self.source} from {self.source_dir} → {self.db_path} "
                 f"in {self.elapsed_seconds:.1f}s", f"行数 / rows: {counts}"]
        if self.skipped_tables:
            lines.append("空表（来源中没有）/ empty tables (not in the source): "
                         + ", ".join(self.skipped_tables))
        lines.extend(f"注意 / note: {n}" for n in self.notes)
        return lines
