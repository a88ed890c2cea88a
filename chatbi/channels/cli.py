"""The `chatbi` command line: a thin shell over the pipeline and the build steps.

Exit status (INTERFACES.md): 0 answered; 2 the question could not be answered (refused,
unclear, invalid); 1 an internal error. A ChatBIError never prints a traceback; any other
exception prints one line, and the traceback only with ``--debug`` or ``CHATBI_DEBUG=1``.
Heavy modules are imported inside the commands so ``chatbi --help`` stays fast.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import functools
import json
import os
import sys
import traceback
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer

from chatbi.config import DEFAULT_DB, Settings
from chatbi.errors import ChatBIError, UnclearQuestionError, UserInputError, WarehouseError
from chatbi.warehouse.files import atomic_replace

if TYPE_CHECKING:
    from rich.console import Console

    from chatbi.answer.pipeline import Pipeline
    from chatbi.answer.types import Answer
    from chatbi.sql.policy import Role

F = TypeVar("F", bound=Callable[..., Any])

app = typer.Typer(
    name="chatbi",
    help="ChatBI：用中文或英文提问，得到数字、表格、图表和结论 / conversational analytics.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
import_app = typer.Typer(help="导入自己的数据 / load your own data, then build profiles and the index.",
                         no_args_is_help=True)
profiles_app = typer.Typer(help="画像表 / profile tables.", no_args_is_help=True)
app.add_typer(import_app, name="import")
app.add_typer(profiles_app, name="profiles")

_STATE = {"debug": False}

DbOption = Annotated[
    Path | None,
    typer.Option("--db", metavar="PATH", help="warehouse file (default: $CHATBI_DB, else data/warehouse.duckdb)"),
]
RoleOption = Annotated[
    str, typer.Option("--role", metavar="ROLE", help="admin | analyst | marketer | merchant:<id>")
]
JsonOption = Annotated[bool, typer.Option("--json", help="print the answer as one JSON object")]
SkipIndexOption = Annotated[
    bool, typer.Option("--skip-index", help="do not build the retrieval index (only the LLM planner uses it)")
]


class Scale(enum.StrEnum):
    tiny = "tiny"
    small = "small"
    medium = "medium"
    large = "large"


def _out() -> Console:
    from rich.console import Console  # imported when printing: `ask --json` never loads rich

    return Console(highlight=False, soft_wrap=False)


def _err() -> Console:
    from rich.console import Console

    return Console(stderr=True, highlight=False, soft_wrap=True)


def _debug() -> bool:
    return _STATE["debug"] or os.environ.get("CHATBI_DEBUG", "").strip() in ("1", "true", "yes")


def _report_unexpected(exc: BaseException) -> None:
    """One clear line for an unexpected exception; the traceback only in debug mode."""
    err = _err()
    detail = str(exc).splitlines()[0] if str(exc) else ""
    err.print(f"[bold red]内部错误 / internal error:[/] {type(exc).__name__}: {detail}", markup=True,
              highlight=False)
    if _debug():
        err.print("".join(traceback.format_exception(exc)), markup=False)
    else:
        err.print("（加 --debug 或设置 CHATBI_DEBUG=1 查看详情 / run with --debug for the traceback）",
                  style="dim")


def _report_error(exc: ChatBIError) -> None:
    from chatbi.channels.render import render_error

    render_error(exc.code, exc.message, _err())
    if _debug() and exc.detail:
        _err().print(exc.detail, markup=False)


def handle_errors(fn: F) -> F:
    """Map ChatBIError to its exit code and other exceptions to exit 1, without tracebacks."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except (typer.Exit, typer.Abort):
            raise
        except ChatBIError as exc:
            _report_error(exc)
            raise typer.Exit(exc.exit_code) from None
        except KeyboardInterrupt:
            _err().print("已中断 / interrupted")
            raise typer.Exit(130) from None
        except ModuleNotFoundError as exc:
            if not (exc.name or "").startswith("chatbi"):
                _report_unexpected(exc)
                raise typer.Exit(1) from None
            _report_error(ChatBIError(f"组件缺失 / component missing: {exc.name}. 请重新安装 / reinstall "
                                      "with `make install`.", code="component_missing"))
            raise typer.Exit(1) from None
        except Exception as exc:  # the one place unexpected errors become exit 1
            _report_unexpected(exc)
            raise typer.Exit(1) from None

    return wrapper  # type: ignore[return-value]


@app.callback()
def _main(
    debug: Annotated[bool, typer.Option("--debug", help="show tracebacks of internal errors")] = False,
    version: Annotated[bool, typer.Option("--version", help="print the version and exit")] = False,
) -> None:
    """ChatBI command line."""
    _STATE["debug"] = debug
    if version:
        from chatbi import __version__

        typer.echo(__version__)
        raise typer.Exit(0)


# ---------------------------------------------------------------------------- helpers

def parse_date(text: str | None, option: str) -> dt.date | None:
    """``YYYY-MM-DD`` → date; anything else is invalid input (exit 2)."""
    if text is None or not str(text).strip():
        return None
    try:
        return dt.date.fromisoformat(str(text).strip())
    except ValueError:
        raise UserInputError(
            f"{option} 需要 YYYY-MM-DD 格式的日期 / {option} expects a date like 2026-09-30, got {text!r}",
            code="invalid_date",
        ) from None


def parse_role(text: str | None) -> Role:
    from chatbi.sql.policy import Role

    return Role.parse(text)


def settings_for(db: Path | None) -> Settings:
    return Settings.from_env(db)


def load_pipeline(settings: Settings, *, server: bool = False) -> Pipeline:
    """Open the pipeline; a missing warehouse or pipeline module is a clear error. Servers
    (``server=True``) run queries in worker processes (``chatbi.sql.isolated``)."""
    if settings.engine == "duckdb" and not settings.db_path.exists():
        raise WarehouseError(
            f"数据仓库不存在 / warehouse not found: {settings.db_path}. "
            "运行 `chatbi init --demo` 或 `make run` / run `chatbi init --demo` first.",
            code="warehouse_missing",
        )
    try:
        from chatbi.answer.pipeline import Pipeline
    except ImportError as exc:
        raise ChatBIError(f"组件缺失 / component missing: {exc}", code="component_missing") from exc
    from chatbi.sql.isolated import configure_executor

    pipeline = Pipeline.from_settings(settings)
    configure_executor(pipeline, settings, server=server)
    return pipeline


def write_json(obj: Any) -> None:
    """One UTF-8 JSON object on stdout, whatever the terminal's encoding."""
    text = json.dumps(obj, ensure_ascii=False, default=str) + "\n"
    buffer = getattr(sys.stdout, "buffer", None)
    if buffer is not None:
        sys.stdout.flush()
        buffer.write(text.encode("utf-8"))
        buffer.flush()
    else:
        sys.stdout.write(text)


def error_answer(question: str, exc: ChatBIError) -> Answer:
    """An Answer carrying a raised error, so ``--json`` output always has the answer's keys."""
    from chatbi.answer.types import Answer

    intent = "clarify" if isinstance(exc, UnclearQuestionError) else "refuse"
    return Answer(question=question, intent=intent, error=exc.to_dict())  # type: ignore[arg-type]


def emit_answer(answer: Answer, *, as_json: bool, chart_png: Path | None = None,
                exports: dict[str, Path | None] | None = None) -> int:
    """Print an answer (JSON or rich), write the chart PNG and the ``exports`` asked for
    (format -> file: csv, xlsx, svg); return the exit status."""
    if as_json:
        write_json(answer.to_dict())
    else:
        from chatbi.channels.render import render_answer

        render_answer(answer, _out())
    if chart_png is not None and answer.error is None:
        if answer.chart:
            from chatbi.answer.charts import chart_png as write_png

            write_png(answer.chart, chart_png)
            _err().print(f"图表已保存 / chart written: {chart_png}", style="dim")
        else:
            _err().print("这个回答没有图表，未写 PNG / this answer has no chart; no PNG written",
                         style="yellow")
    for fmt, target in (exports or {}).items():
        if target is None or answer.error is not None:
            continue
        from chatbi.answer.exports import write_export

        write_export(answer.to_dict(), target, fmt)
        _err().print(f"已导出 / written: {target}", style="dim")
    return 2 if answer.error else 0


def _answer_or_error_json(question: str, as_json: bool, produce: Callable[[], Answer],
                          chart_png: Path | None = None,
                          exports: dict[str, Path | None] | None = None) -> None:
    """Run ``produce``; in JSON mode a raised ChatBIError still prints an answer object."""
    try:
        answer = produce()
    except ChatBIError as exc:
        if as_json:
            write_json(error_answer(question, exc).to_dict())
        raise
    raise typer.Exit(emit_answer(answer, as_json=as_json, chart_png=chart_png, exports=exports))


def build_derived(db_path: Path, console: Console, *, as_of: dt.date | None = None,
                  with_index: bool = True, verbose: bool = True) -> None:
    """Build profiles, then the retrieval index (skipped with a note if not available).
    ``verbose``: the whole build report (model validation, step times); else one line."""
    from chatbi.channels.render import progress_bar
    from chatbi.profiles.build import build_profiles

    with progress_bar(console, "画像 / profiles") as report:
        result = build_profiles(db_path, as_of=as_of, progress=report)
    for line in (_summary_lines(result) if verbose else _short_summary(result)):
        console.print(line, markup=False, soft_wrap=True)
    if with_index:
        build_index_step(db_path, console)


def build_index_step(db_path: Path, console: Console) -> None:
    from chatbi.channels.render import progress_bar

    try:
        from chatbi.retrieval.index import build_index
    except ImportError:
        console.print("检索索引模块尚不可用，已跳过 / retrieval index not available yet: skipped",
                      style="yellow")
        return
    with progress_bar(console, "检索索引 / index") as report:
        build_index(settings_for(db_path), progress=report)
    from chatbi.retrieval.planning_cache import warm

    warm(settings_for(db_path))  # layer, as-of date and values beside the index: a fast first question


def _short_summary(result: Any) -> list[str]:
    """One line of what was built (rows people recognise), plus any warning of the build;
    model metrics, step times and the demo's planted stories are for ``--verbose``."""
    counts = getattr(result, "row_counts", None)
    if not isinstance(counts, Mapping):
        return []
    as_of = getattr(result, "as_of", None)
    if as_of is not None:  # a profile build
        line = (f"画像 / profiles: {counts.get('user_profile', 0):,} 位用户 users · "
                f"{counts.get('merchant_profile', 0):,} 家商户 merchants · "
                f"{getattr(result, 'alert_count', counts.get('alerts', 0)):,} 条异常预警 alerts"
                f"（截至 as of {as_of}）")
        missing = tuple(getattr(result, "missing_optional_tables", ()) or ())
        return [line] + ([f"缺少可选表 / missing optional tables: {', '.join(missing)}"] if missing else [])
    start, end = getattr(result, "start_date", None), getattr(result, "end_date", None)
    span = f"，{start} 至 {end}" if start and end else ""
    return [f"数据 / data: {counts.get('users', 0):,} 位用户 users · {counts.get('merchants', 0):,} 家商户 merchants · "
            f"{counts.get('orders', 0):,} 笔订单 orders{span}"]


def _summary_lines(result: Any) -> list[str]:
    """A build report's ``summary_lines()``, else its row counts, else nothing."""
    if result is None:
        return []
    if hasattr(result, "summary_lines"):
        return [str(line) for line in result.summary_lines()]
    counts = getattr(result, "row_counts", None)
    if isinstance(counts, Mapping):
        seconds = getattr(result, "elapsed_seconds", None)
        took = f" in {seconds:.1f}s" if isinstance(seconds, int | float) else ""
        return [f"rows{took}: " + ", ".join(f"{k} {v:,}" for k, v in counts.items())]
    return []


# ---------------------------------------------------------------------------- commands

@app.command()
@handle_errors
def init(
    demo: Annotated[bool, typer.Option("--demo", help="generate the demo marketplace data")] = False,
    scale: Annotated[Scale, typer.Option("--scale", help="data size")] = Scale.small,
    seed: Annotated[int | None, typer.Option("--seed", metavar="N", help="random seed (same seed, same data)")] = None,
    end_date: Annotated[str | None, typer.Option("--end-date", metavar="DATE", help="last day of the data, YYYY-MM-DD")] = None,
    db: DbOption = None,
    skip_index: SkipIndexOption = False,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="print the full build report (model checks, step times, planted stories)")] = False,
) -> None:
    """生成演示数据、画像和检索索引 / generate the demo warehouse (replaced atomically)."""
    if not demo:
        raise UserInputError(
            "请加 --demo 生成演示数据；自己的数据用 `chatbi import` / use --demo, or `chatbi import` for your data.",
            code="invalid_input",
        )
    settings = settings_for(db)
    end = parse_date(end_date, "--end-date")
    from chatbi.channels.render import progress_bar
    from chatbi.warehouse.demo import generate_demo

    console = _out()
    kwargs: dict[str, Any] = {"scale": scale.value}
    if seed is not None:
        kwargs["seed"] = seed
    if end is not None:
        kwargs["end_date"] = end
    with atomic_replace(settings.db_path) as tmp:  # one swap: raw data and profiles together
        with progress_bar(console, "演示数据 / demo data") as report:
            summary = generate_demo(tmp, progress=report, **kwargs)
        report_lines = _summary_lines if verbose else _short_summary
        for line in report_lines(_at_path(summary, settings.db_path)):
            console.print(line, markup=False, soft_wrap=True)
        build_derived(tmp, console, with_index=False, verbose=verbose)
    if not skip_index:
        build_index_step(settings.db_path, console)
    console.print(f"完成 / done: {settings.db_path}", style="bold green")
    db_flag = "" if settings.db_path == DEFAULT_DB else f" --db {settings.db_path}"
    console.print(f"下一步 / next: make run，或 / or: chatbi ask \"各大区的GMV\"{db_flag}", markup=False, soft_wrap=True)


def _at_path(report: Any, db_path: Path) -> Any:
    """A build report that names the final warehouse path instead of the temporary one."""
    if dataclasses.is_dataclass(report) and not isinstance(report, type) and hasattr(report, "db_path"):
        return dataclasses.replace(report, db_path=db_path)
    return report


def _import(kind: str, directory: Path, db: Path | None, skip_index: bool,
            loader: Callable[..., Any] | None = None) -> None:
    settings = settings_for(db)
    if loader is None and not directory.is_dir():
        raise UserInputError(f"目录不存在 / not a folder: {directory}", code="invalid_input")
    from chatbi.channels.render import progress_bar
    from chatbi.warehouse import importers

    if loader is None:
        loader = importers.import_olist if kind == "olist" else importers.import_csv
    console = _out()
    with atomic_replace(settings.db_path) as tmp:  # one swap: raw data and profiles together
        with progress_bar(console, f"导入 / import {kind}") as report:
            result = loader(directory, tmp, progress=report)
        for line in _summary_lines(_at_path(result, settings.db_path)):
            console.print(line, markup=False, soft_wrap=True)
        build_derived(tmp, console, with_index=False)
    if not skip_index:
        build_index_step(settings.db_path, console)
    console.print(f"完成 / done: {settings.db_path}", style="bold green")


@import_app.command("olist")
@handle_errors
def import_olist(
    directory: Annotated[Path, typer.Argument(metavar="DIR", help="folder with the Olist CSV files")],
    db: DbOption = None,
    skip_index: SkipIndexOption = False,
) -> None:
    """导入公开的 Olist 数据集 / load the public Olist CSV files."""
    _import("olist", directory, db, skip_index)


@import_app.command("csv")
@handle_errors
def import_csv(
    directory: Annotated[Path, typer.Argument(metavar="DIR", help="CSV/Parquet files named after the raw tables")],
    db: DbOption = None,
    skip_index: SkipIndexOption = False,
) -> None:
    """导入以原始表命名的 CSV/Parquet 文件 / load CSV or Parquet files named after the raw tables."""
    _import("csv", directory, db, skip_index)


@import_app.command("postgres")
@handle_errors
def import_postgres(
    url: Annotated[str, typer.Argument(metavar="URL", help="PostgreSQL connection string, e.g. postgresql://user@host:5432/db")],
    schema: Annotated[str, typer.Option("--schema", help="the schema holding the raw tables")] = "public",
    publish: Annotated[bool, typer.Option("--publish", help="then publish the profile tables to the same schema (URL needs CREATE there)")] = False,
    db: DbOption = None,
    skip_index: SkipIndexOption = False,
) -> None:
    """导入 PostgreSQL schema 的原始表并构建画像 / load a PostgreSQL schema's raw tables, build profiles."""
    from chatbi.warehouse.postgres import import_postgres as load

    _import("postgres", Path(schema), db, skip_index,
            loader=lambda _directory, target, progress=None: load(url, schema, target, progress=progress))
    if publish:
        _publish(url, schema, settings_for(db).db_path)


def _publish(url: str, schema: str, db_path: Path) -> None:
    from chatbi.channels.render import progress_bar
    from chatbi.warehouse.postgres import publish_tables

    console = _out()
    with progress_bar(console, f"发布到 / publish to {schema}") as report:
        counts = publish_tables(db_path, url, schema=schema, progress=report)
    console.print(f"已发布 {len(counts)} 张表（一个事务）/ published {len(counts)} tables in one transaction: "
                  + ", ".join(f"{t} {n:,}" for t, n in counts.items()), markup=False, soft_wrap=True)


@profiles_app.command("publish")
@handle_errors
def profiles_publish(
    url: Annotated[str | None, typer.Option("--url", metavar="URL", help="PostgreSQL connection string of a role that may create tables (default: $CHATBI_WAREHOUSE_URL)")] = None,
    schema: Annotated[str | None, typer.Option("--schema", help="target schema (default: $CHATBI_WAREHOUSE_SCHEMA, else public)")] = None,
    parquet: Annotated[Path | None, typer.Option("--parquet", metavar="DIR", help="instead: write every table as DIR/<table>.parquet for CHATBI_ENGINE=spark")] = None,
    db: DbOption = None,
) -> None:
    """把构建好的画像表发布到 PostgreSQL（一个事务）或写成 Parquet（Spark）/ publish the built
    profile tables to PostgreSQL in one transaction, or write the warehouse as Parquet for Spark."""
    settings = settings_for(db)
    if not settings.db_path.exists():
        raise WarehouseError(
            f"数据仓库不存在 / warehouse not found: {settings.db_path}. Run `chatbi import postgres` first.",
            code="warehouse_missing",
        )
    if parquet is not None:
        from chatbi.warehouse.spark import export_parquet

        written = export_parquet(settings.db_path, parquet)
        _out().print(f"已写出 {len(written)} 张表 / wrote {len(written)} tables to {parquet}", markup=False)
        return
    _publish(url or settings.warehouse_url or "", schema or settings.warehouse_schema or "public", settings.db_path)


@profiles_app.command("build")
@handle_errors
def profiles_build(
    db: DbOption = None,
    as_of: Annotated[str | None, typer.Option("--as-of", metavar="DATE", help="profile date, YYYY-MM-DD")] = None,
) -> None:
    """从原始表重建画像表 / rebuild the profile tables from the raw tables."""
    settings = settings_for(db)
    if not settings.db_path.exists():
        raise WarehouseError(
            f"数据仓库不存在 / warehouse not found: {settings.db_path}. Run `chatbi init --demo` first.",
            code="warehouse_missing",
        )
    build_derived(settings.db_path, _out(), as_of=parse_date(as_of, "--as-of"), with_index=False)


@app.command()
@handle_errors
def ask(
    question: Annotated[str, typer.Argument(metavar="QUESTION", help="the question, in Chinese or English")],
    db: DbOption = None,
    role: RoleOption = "admin",
    as_of: Annotated[str | None, typer.Option("--as-of", metavar="DATE", help="answer as of this date, YYYY-MM-DD")] = None,
    as_json: JsonOption = False,
    chart_png: Annotated[Path | None, typer.Option("--chart-png", metavar="FILE", help="write the chart as PNG")] = None,
    chart_svg: Annotated[Path | None, typer.Option("--chart-svg", metavar="FILE", help="write the chart as SVG")] = None,
    csv_file: Annotated[Path | None, typer.Option("--csv", metavar="FILE", help="write the table as CSV (labelled, rounded)")] = None,
    xlsx_file: Annotated[Path | None, typer.Option("--xlsx", metavar="FILE", help="write the table as an Excel workbook")] = None,
) -> None:
    """回答一个问题 / answer one question."""

    def produce() -> Answer:
        if not question.strip():  # the same clarification the pipeline gives
            raise UnclearQuestionError("请输入一个问题，例如“各大区的GMV” / Please ask a question, e.g. "
                                       "'GMV by region'.", code="empty_question")
        who = parse_role(role)
        when = parse_date(as_of, "--as-of")
        pipeline = load_pipeline(settings_for(db))
        try:
            return pipeline.ask(question, role=who, as_of=when)
        finally:
            pipeline.close()

    _answer_or_error_json(question, as_json, produce, chart_png,
                          {"csv": csv_file, "xlsx": xlsx_file, "svg": chart_svg})


@app.command()
@handle_errors
def sql(
    statement: Annotated[str, typer.Argument(metavar="SQL", help="one SELECT statement")],
    db: DbOption = None,
    role: RoleOption = "admin",
    as_json: JsonOption = False,
) -> None:
    """运行手写 SQL（同样经过安全检查）/ run hand-written SQL through the same guard."""

    def produce() -> Answer:
        if not statement.strip():
            raise UserInputError("SQL 为空 / empty SQL", code="invalid_input")
        who = parse_role(role)
        pipeline = load_pipeline(settings_for(db))
        try:
            return pipeline.run_sql(statement, role=who)
        finally:
            pipeline.close()

    _answer_or_error_json(statement, as_json, produce)


CHAT_HELP = """命令 / commands:
  /help   显示帮助 / this help
  /sql    上一个回答的 SQL 与口径 / SQL and definitions of the last answer
  /new    开始新对话 / start a new conversation (forget follow-up context)
  /quit   退出 / exit (also /exit, Ctrl-D)
其余输入都是问题；追问如“那华南呢？”会接着上一个问题 / anything else is a question; follow-ups refine the last one."""


@app.command()
@handle_errors
def chat(
    db: DbOption = None,
    role: RoleOption = "admin",
    as_of: Annotated[str | None, typer.Option("--as-of", metavar="DATE", help="answer as of this date, YYYY-MM-DD")] = None,
) -> None:
    """终端里的多轮对话 / interactive multi-turn session."""
    who = parse_role(role)
    when = parse_date(as_of, "--as-of")
    pipeline = load_pipeline(settings_for(db))
    try:
        _repl(pipeline, who, when)
    finally:
        pipeline.close()


def _repl(pipeline: Pipeline, who: Role, when: dt.date | None) -> None:
    """The chat loop: questions and /commands until /quit or end of input."""
    from rich.prompt import Prompt

    from chatbi.channels.render import render_answer, render_error

    console = _out()
    conversation = pipeline.new_conversation()
    last: Answer | None = None
    console.print(f"ChatBI · 角色 / role: {who} · 输入 /help 查看命令 / type /help", style="bold")
    try:
        starters = pipeline.starter_questions("zh")[:4]
    except Exception:  # starter questions are a nicety; never block the session
        starters = []
    for q in starters:
        console.print(f"  · {q}", style="cyan", markup=False)
    while True:
        try:
            text = Prompt.ask("[bold green]问 / ask[/]", console=console).strip()
        except EOFError:
            console.print()
            break
        if not text:
            continue
        if text.startswith("/"):
            command = text.split()[0].lower()
            if command in ("/quit", "/exit", "/q"):
                break
            if command == "/help":
                console.print(CHAT_HELP, markup=False)
            elif command == "/sql":
                _show_sql(console, last)
            elif command == "/new":
                conversation = pipeline.new_conversation()
                last = None
                console.print("已开始新对话 / new conversation", style="dim")
            else:
                console.print(f"未知命令 / unknown command {command}; /help", style="yellow", markup=False)
            continue
        try:
            last = pipeline.ask(text, conversation=conversation, role=who, as_of=when)
        except ChatBIError as exc:
            render_error(exc.code, exc.message, console)
            continue
        except Exception as exc:
            _report_unexpected(exc)
            continue
        render_answer(last, console, show_sql=False)
    console.print("再见 / bye", style="dim")


def _show_sql(console: Console, answer: Answer | None) -> None:
    from rich.text import Text

    if answer is None or not answer.sql:
        console.print("还没有 SQL / no SQL yet", style="yellow")
        return
    console.print(Text(answer.sql, style="dim"))
    data = answer.to_dict()
    if data.get("semantic_query"):
        console.print(Text(json.dumps(data["semantic_query"], ensure_ascii=False), style="dim"))
    for d in data["definitions"]:
        console.print(Text(f"{d['label']} ({d['name']}): {d['description']} — {d['sql']}", style="dim"))


@app.command()
@handle_errors
def sentiment(
    file: Annotated[Path, typer.Argument(metavar="FILE.csv", help="CSV with review texts")],
    text_column: Annotated[str, typer.Option("--text-column", metavar="COL", help="the column with the text")],
    out: Annotated[Path | None, typer.Option("--out", metavar="FILE", help="output CSV (default: FILE_sentiment.csv beside the input)")] = None,
) -> None:
    """离线判断中文评论情感 / classify Chinese review texts offline."""
    if not file.is_file():
        raise UserInputError(f"文件不存在 / file not found: {file}", code="invalid_input")
    from chatbi.channels.render import count_progress
    from chatbi.profiles.sentiment import classify_csv

    target = out if out is not None else sentiment_output_path(file)
    console = _out()
    with count_progress(console, "情感 / sentiment") as report:
        written = classify_csv(file, text_column, target, progress=report)
    console.print(f"已写入 / written: {written}", style="bold green", markup=False)


def sentiment_output_path(source: Path) -> Path:
    """``reviews.csv`` → ``reviews_sentiment.csv`` beside it (the input is never overwritten)."""
    return source.with_name(f"{source.stem}_sentiment{source.suffix or '.csv'}")


@app.command("eval")
@handle_errors
def eval_(
    questions: Annotated[Path, typer.Argument(metavar="QUESTIONS.yaml", help="question set")],
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """跑一组问题，输出执行准确率和延迟 / run a question set: execution accuracy and latency."""
    from chatbi.eval.command import eval_command

    raise typer.Exit(eval_command(questions, db, as_json))


@app.command("eval-roundtrip")
@handle_errors
def eval_roundtrip(
    db: DbOption = None,
    n: Annotated[int, typer.Option("--n", metavar="N", help="number of sampled queries")] = 500,
    seed: Annotated[int, typer.Option("--seed", metavar="SEED", help="random seed")] = 1,
    typo_share: Annotated[float, typer.Option("--typo-share", metavar="SHARE", help="share of questions with one typo")] = 0.3,
    as_json: JsonOption = False,
    out: Annotated[Path | None, typer.Option("--out", metavar="FILE", help="also write the JSON report here")] = None,
) -> None:
    """随机语义查询 → 中英文问法 → 离线规划，报告还原率 / round trip: sampled queries, worded, planned back."""
    from chatbi.eval.roundtrip import roundtrip_command

    raise typer.Exit(roundtrip_command(db, n, seed, typo_share, as_json, out))


@app.command()
@handle_errors
def serve(
    host: Annotated[str, typer.Option("--host", metavar="HOST", help="bind address")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", metavar="PORT", help="port")] = 8000,
    db: DbOption = None,
) -> None:
    """HTTP API（FastAPI，文档在 /docs）/ HTTP API, docs at /docs."""
    import uvicorn

    from chatbi.channels.api import create_app

    settings = settings_for(db)
    api = create_app(settings, bind_host=host)
    _err().print(f"ChatBI API on http://{host}:{port}  (docs: /docs)", style="bold")
    uvicorn.run(api, host=host, port=port, log_level="info")


@app.command()
@handle_errors
def slack(db: DbOption = None) -> None:
    """Slack 机器人 / Slack bot (Socket Mode with SLACK_APP_TOKEN, else HTTP events)."""
    from chatbi.channels.slack import run

    run(settings_for(db))


from chatbi.channels.users_cli import build_users_app  # noqa: E402

app.add_typer(build_users_app(handle_errors), name="users")


def main() -> None:
    """Console script entry point (``chatbi``)."""
    app()


if __name__ == "__main__":
    main()
