"""Rich terminal rendering of an Answer, and progress bars for long builds."""

from __future__ import annotations

import contextlib
import datetime as dt
import re
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.panel import Panel
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table
from rich.text import Text

ProgressCallback = Callable[[str, float], None]
CountCallback = Callable[[int, int], None]  # (done, total), e.g. chatbi.profiles.sentiment.Progress

_RATIO_SUFFIXES = ("_growth", "_share")

# What to tell the user to do next, by error code.
_HINTS = {
    "warehouse_missing": "运行 `chatbi init --demo`（或 `make run`）生成演示数据仓库 / run `chatbi init --demo` first.",
    "unclear_question": "换个说法，说明指标、维度和时间，例如：上个季度各大区的销售额 / rephrase with a metric, a dimension and a time range.",
    "invalid_role": "角色可以是 admin, analyst, marketer 或 merchant:<id>.",
}


def format_cell(value: Any, column: str = "") -> str:
    """A cell as text: ratios of growth/share columns as percentages, numbers grouped."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, int | float) and column.endswith(_RATIO_SUFFIXES):
        sign = "+" if column.endswith("_growth") and value > 0 else ""
        return f"{sign}{value * 100:.1f}%"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if value != value:  # NaN
            return "—"
        return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:,.4g}" if abs(value) < 1 else f"{value:,.2f}"
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return ", ".join(format_cell(v) for v in value)
    return str(value)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def hint_for(code: str | None) -> str | None:
    """A short what-to-do-next line for an error code, if there is one."""
    return _HINTS.get(code or "")


def answer_table(columns: list[str], rows: list[list[Any]], *, max_rows: int = 50,
                 truncated: bool = False) -> Table:
    """A rich table of the result rows (first ``max_rows``)."""
    table = Table(show_header=True, header_style="bold cyan", show_lines=False)
    for i, col in enumerate(columns):
        numeric = any(_is_number(r[i]) for r in rows[:20] if i < len(r))
        table.add_column(col, justify="right" if numeric else "left", overflow="fold")
    for row in rows[:max_rows]:
        table.add_row(*[escape(format_cell(v, c)) for v, c in zip(row, columns, strict=False)])
    hidden = len(rows) - max_rows
    if hidden > 0 or truncated:
        more = f"{hidden} more rows" if hidden > 0 else "more rows exist"
        table.caption = f"… {more} (结果已截断 / truncated)"
    return table


def labelled_table(table: Mapping[str, Any], *, max_rows: int = 50, truncated: bool = False) -> Table:
    """A rich table of an answer's labelled table (``Answer.table``: headers and display text)."""
    out = Table(show_header=True, header_style="bold cyan", show_lines=False)
    kinds = list(table.get("kinds") or [])
    for i, header in enumerate(table.get("headers") or []):
        numeric = i < len(kinds) and kinds[i] not in ("text", "date", "period", "id", "boolean")
        out.add_column(escape(str(header)), justify="right" if numeric else "left", overflow="fold")
    rows = list(table.get("rows") or [])
    for row in rows[:max_rows]:
        out.add_row(*[escape(str(v)) for v in row])
    hidden = len(rows) - max_rows
    if hidden > 0 or truncated:
        more = f"{hidden} more rows" if hidden > 0 else "more rows exist"
        out.caption = f"… {more} (结果已截断 / truncated)"
    return out


def render_answer(answer: Any, console: Console, *, show_sql: bool = True, max_rows: int = 50) -> None:
    """Print the finding, the table, the time range, notes, copy, and the SQL dimmed."""
    data: Mapping[str, Any] = answer if isinstance(answer, Mapping) else answer.to_dict()
    error = data.get("error")
    if error:
        render_error(error.get("code"), error.get("message") or "", console)
        return
    if not (data.get("finding") or data.get("copy") or data.get("columns") or data.get("definitions")):
        console.print(Text("（没有可显示的结果 / nothing to show for this question）", style="yellow"))
    interpretation = (data.get("interpretation") or {}).get("text")
    if interpretation:
        console.print(Text(interpretation, style="cyan"))
    if data.get("finding"):
        console.print(Text(data["finding"], style="bold"))
    for item in data.get("copy") or []:
        from chatbi.answer.labels import copy_heading

        title = copy_heading(item, str(data.get("language") or "zh"))
        body = item.get("text", "")
        if item.get("title"):
            body = f"{item['title']}\n{body}"
        console.print(Panel(escape(body), title=escape(title), title_align="left", border_style="green"))
    columns = list(data.get("columns") or [])
    rows = list(data.get("rows") or [])
    if columns and rows and data.get("table"):
        console.print(labelled_table(data["table"], max_rows=max_rows, truncated=bool(data.get("truncated"))))
    elif columns and rows:
        console.print(answer_table(columns, rows, max_rows=max_rows, truncated=bool(data.get("truncated"))))
    elif columns:
        console.print(Text("（没有数据 / no rows）", style="yellow"))
    meta: list[str] = []
    if data.get("time_range"):
        meta.append(f"时间范围 / time range: {data['time_range']}")
    meta.extend(f"· {note}" for note in data.get("notes") or [])
    for line in meta:
        console.print(Text(line, style="italic"))
    for d in data.get("definitions") or []:
        console.print(Text(f"口径 {d.get('label') or d.get('name')}: {d.get('description', '')}", style="dim"))
    if show_sql and data.get("sql"):
        console.print(Text(data["sql"], style="dim"))
    if data.get("followups"):
        console.print(Text("接着问 / follow-ups: " + " | ".join(data["followups"]), style="cyan"))


def render_error(code: str | None, message: str, console: Console) -> None:
    """A clear error line (never wrapped mid-command) and, when known, what to do next."""
    text = Text(message or "出错了 / something went wrong", style="bold red")
    if code:
        text.append(f"  [{code}]", style="dim")
    console.print(text, soft_wrap=True)
    hint = hint_for(code)
    commands = re.findall(r"`([^`]+)`", hint or "")
    if hint and not any(c in message for c in commands):
        console.print(Text("→ " + hint, style="yellow"), soft_wrap=True)


@contextlib.contextmanager
def progress_bar(console: Console, title: str) -> Iterator[ProgressCallback]:
    """Yield a ``(step, fraction)`` callback that drives a rich progress bar."""
    progress = Progress(
        TextColumn("[bold]{task.description}"), BarColumn(), TaskProgressColumn(),
        TimeElapsedColumn(), console=console, transient=False,
    )
    with progress:
        task = progress.add_task(title, total=100)

        def report(step: str, fraction: float) -> None:
            done = max(0.0, min(1.0, float(fraction))) * 100
            progress.update(task, description=f"{title}: {step}" if step else title, completed=done)

        yield report
        progress.update(task, completed=100)


@contextlib.contextmanager
def count_progress(console: Console, title: str) -> Iterator[CountCallback]:
    """Yield a ``(done, total)`` callback that drives a rich progress bar showing done/total.
    The bar appears on the first call, so an error raised before any work shows no bar."""
    progress = Progress(
        TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TaskProgressColumn(),
        TimeElapsedColumn(), console=console, transient=False,
    )
    task: list[Any] = []

    def report(done: int, total: int) -> None:
        total = max(int(total), 0)
        if not task:
            progress.start()
            task.append(progress.add_task(title, total=total))
        progress.update(task[0], total=total, completed=min(max(int(done), 0), total))

    try:
        yield report
    finally:
        if task:
            progress.stop()
