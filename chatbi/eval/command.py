"""``chatbi eval QUESTIONS.yaml [--db PATH] [--json]`` as one function the CLI calls.

``eval_command(path, db_path, as_json)`` prints the report (rich tables on stdout, progress
on stderr; or the report as JSON on stdout) and returns the exit status of INTERFACES.md:
0 when the set was evaluated, 2 when it could not be (missing or invalid question set,
missing warehouse), 1 on an internal error.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from chatbi.errors import ChatBIError


def eval_command(path: str | Path, db_path: str | Path | None = None, as_json: bool = False, *,
                 out: Any = None, err: Any = None) -> int:
    """Run the question set at ``path`` on the warehouse at ``db_path`` and print the report."""
    from rich.console import Console

    from chatbi.eval.format import load_question_set
    from chatbi.eval.runner import run_eval

    out = out or sys.stdout
    err_console = Console(file=err or sys.stderr)
    pipeline = None
    try:
        question_set = load_question_set(path)
        pipeline = _pipeline(db_path)
        if as_json:
            report = run_eval(question_set, pipeline)
        else:
            report = _run_with_progress(question_set, pipeline, err_console)
    except ChatBIError as exc:
        err_console.print(exc.message, style="red", markup=False, highlight=False, soft_wrap=True)
        return exc.exit_code
    except Exception as exc:  # noqa: BLE001 - the CLI reports, never shows a traceback
        err_console.print(f"内部错误 / internal error: {type(exc).__name__}: {exc}", style="red",
                          markup=False, highlight=False, soft_wrap=True)
        return 1
    finally:
        if pipeline is not None:
            pipeline.close()
    if as_json:
        out.write(json.dumps(report.to_dict(), ensure_ascii=False, indent=2, default=str) + "\n")
    else:
        report.render(Console(file=out))
    return 0


def _pipeline(db_path: str | Path | None) -> Any:
    from chatbi.answer.pipeline import Pipeline
    from chatbi.config import Settings
    from chatbi.errors import WarehouseError

    settings = Settings.from_env(db_path=db_path)
    if settings.engine == "duckdb" and not Path(settings.db_path).is_file():  # other engines: no file
        raise WarehouseError(
            f"数据仓库不存在 / warehouse not found: {settings.db_path}. Run `chatbi init --demo` first.",
            code="warehouse_missing",
        )
    return Pipeline(settings)


def _run_with_progress(question_set: Any, pipeline: Any, console: Any) -> Any:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from chatbi.eval.runner import run_eval

    columns = (TextColumn("eval"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console, transient=True) as bar:
        task = bar.add_task("eval", total=question_set.question_count)
        return run_eval(question_set, pipeline,
                        progress=lambda done, total, _result: bar.update(task, completed=done))
