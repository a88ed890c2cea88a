"""Presentation helpers for the Streamlit app (pure functions, no Streamlit import)."""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from chatbi.config import Settings
from chatbi.errors import ChatBIError, UnclearQuestionError, WarehouseError
from chatbi.sql.policy import Role

log = logging.getLogger("chatbi.web")

ROLE_CHOICES = ("admin", "analyst", "marketer", "merchant")
ROLE_LABELS = {
    "admin": "管理员 admin",
    "analyst": "分析师 analyst",
    "marketer": "营销 marketer（不含个人信息）",
    "merchant": "商户 merchant（只看自己的数据）",
}

NEXT_STEPS = {
    "warehouse_missing": "还没有数据仓库。在项目目录运行 `make run` 或 `chatbi init --demo` 生成演示数据，然后刷新页面。"
                         " / No warehouse yet: run `make run` or `chatbi init --demo`, then reload.",
    "warehouse_error": "数据仓库打不开。可以重新运行 `chatbi init --demo`，或检查 CHATBI_DB。"
                       " / The warehouse cannot be opened: re-run `chatbi init --demo` or check CHATBI_DB.",
    "component_missing": "程序组件缺失，请重新安装：`make install`。 / A component is missing: run `make install`.",
    "query_timeout": "查询超时了，试试缩小时间范围或减少维度。 / The query timed out: narrow the time range.",
    "internal_error": "出了点问题，请稍后再试；如果一直出现，请联系管理员。 / Something went wrong; please try again.",
}


# Settings a Pipeline reads when it is built (the API keys and Slack tokens are not among them).
PIPELINE_SETTINGS = ("db_path", "semantic_dir", "prompts_dir", "planner", "openai_api_key", "openai_base_url",
                     "model", "llm_timeout_s", "llm_text", "query_timeout_s", "max_rows", "memory_limit")


def _file_identity(path: Path) -> list[Any]:
    """(inode, size, mtime) of a file: an atomic replace or a rewrite changes it."""
    try:
        stat = os.stat(path)
    except OSError:
        return [str(path), "missing"]
    return [str(path), stat.st_ino, stat.st_size, stat.st_mtime_ns]


def pipeline_key(settings: Settings) -> str:
    """The cache key of the shared Pipeline: the warehouse file's identity, the semantic layer
    files and the settings the Pipeline is built from. Any change gives a new key, so a
    rebuilt warehouse or changed settings get a new Pipeline. Secrets enter only hashed."""
    parts: dict[str, Any] = {name: str(getattr(settings, name)) for name in PIPELINE_SETTINGS}
    parts["warehouse"] = _file_identity(Path(settings.db_path))
    layer_dir = Path(settings.semantic_dir)
    parts["semantic_layer"] = [_file_identity(p) for p in sorted(layer_dir.glob("*.y*ml"))] if layer_dir.is_dir() else []
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode("utf-8")).hexdigest()


def role_from_choice(choice: str, merchant_id: int | None = None) -> Role:
    """The Role for a sidebar choice (a merchant needs its id)."""
    if choice == "merchant":
        return Role.parse(f"merchant:{int(merchant_id or 0)}")
    return Role.parse(choice)


def answer_frame(data: Mapping[str, Any]) -> pd.DataFrame:
    """The answer's rows as a DataFrame with the answer's column names."""
    columns = list(data.get("columns") or [])
    rows = [list(r) for r in data.get("rows") or []]
    return pd.DataFrame(rows, columns=columns) if columns else pd.DataFrame()


_TABLE_FORMATS = {"money": "yen", "signed_money": "yen", "integer": "localized", "number": "localized",
                  "percent": "%.1f%%", "signed_percent": "%+.1f%%", "days": "%.1f", "score": "%.2f"}
_PP_FORMATS = {"zh": "%+.1f个百分点", "en": "%+.1f pp"}


def table_view(table: Mapping[str, Any]) -> tuple[pd.DataFrame, dict[str, str]]:
    """The labelled table (``Answer.table``) as a frame for st.dataframe: labelled headers,
    rounded numbers (percentages × 100) that still sort as numbers, and each numeric column's
    format, which shows the unit (¥, %, pp) the way the answer's text does."""
    pp = _PP_FORMATS["en" if table.get("language") == "en" else "zh"]
    headers: list[str] = []
    for header in table.get("headers") or []:
        name = str(header)
        while name in headers:  # st.dataframe needs distinct column names
            name += " "
        headers.append(name)
    frame = pd.DataFrame([list(r) for r in table.get("values") or []], columns=headers)
    kinds = list(table.get("kinds") or [])
    formats = {h: (pp if k == "pp" else _TABLE_FORMATS[k]) for h, k in zip(headers, kinds, strict=False)
               if k in _TABLE_FORMATS or k == "pp"}
    return frame, formats


def money_steps(table: Mapping[str, Any]) -> dict[str, float]:
    """Money columns shown with two decimals (amounts under ¥100, the labels' one rule): their
    ``step`` for st.column_config.NumberColumn, whose ``yen`` preset otherwise shows whole yuan."""
    frame, formats = table_view(table)
    return {str(c): 0.01 for c in frame.columns if formats.get(str(c)) == "yen"
            and any(isinstance(v, float) and not v.is_integer() for v in frame[c].dropna())}


def csv_bytes(frame: pd.DataFrame) -> bytes:
    """CSV for download; UTF-8 with BOM so Excel opens Chinese text correctly."""
    return frame.to_csv(index=False).encode("utf-8-sig")


def percent_columns(columns: list[str]) -> list[str]:
    """Columns holding ratios shown as percentages (``_growth``, ``_share``)."""
    return [c for c in columns if c.endswith(("_growth", "_share"))]


def display_spec(spec: Mapping[str, Any]) -> dict[str, Any]:
    """The chart spec for st.vega_lite_chart: stretch to the width, keep the spec's height.

    Streamlit's default sizing squeezes a fixed-height chart when it stretches the width;
    ``autosize: fit-x`` keeps the height the chart was designed with.
    """
    out = dict(spec)
    out.setdefault("autosize", {"type": "fit-x", "contains": "padding"})
    return out


def number_columns(frame: pd.DataFrame) -> list[str]:
    """Numeric columns that are not percentages (shown with thousands separators)."""
    ratio = set(percent_columns(list(frame.columns)))
    return [str(c) for c in frame.columns
            if c not in ratio and pd.api.types.is_numeric_dtype(frame[c]) and not pd.api.types.is_bool_dtype(frame[c])]


def pretty_sql(sql: str) -> str:
    """The SQL laid out one clause per line for reading (unchanged if it does not parse)."""
    try:
        import sqlglot

        return ";\n".join(sqlglot.transpile(sql, read="duckdb", write="duckdb", pretty=True))
    except Exception:  # showing the original text is always correct
        return sql


def md(text: str | None) -> str:
    """Text safe for st.markdown: ``$`` would start LaTeX."""
    return (text or "").replace("$", "\\$")


def error_data(question: str, exc: BaseException) -> dict[str, Any]:
    """An answer dict carrying an error, from an exception raised while answering."""
    from chatbi.answer.types import Answer

    if isinstance(exc, ChatBIError):
        error = exc.to_dict()
        intent = "clarify" if isinstance(exc, UnclearQuestionError) else "refuse"
    else:
        log.exception("unexpected error while answering", exc_info=exc)
        error = {"code": "internal_error", "message": "内部错误 / internal error"}
        intent = "refuse"
    return Answer(question=question, intent=intent, error=error).to_dict()  # type: ignore[arg-type]


def next_step(error: Mapping[str, Any] | None) -> str | None:
    """What the user can do about an error, if we know."""
    if not error:
        return None
    code = str(error.get("code") or "")
    if code in NEXT_STEPS:
        return NEXT_STEPS[code]
    if code in ("unclear_question", "empty_question"):
        return "换个说法试试，说清指标、维度和时间，例如“上个季度各大区的GMV”。 / Try naming a metric, a dimension and a time range."
    return None


def friendly_load_error(exc: BaseException) -> tuple[str, str]:
    """(message, next step) for a pipeline that could not be opened."""
    if isinstance(exc, ChatBIError):
        code = exc.code if exc.code in NEXT_STEPS else ("warehouse_error" if isinstance(exc, WarehouseError)
                                                        else "internal_error")
        return exc.message, NEXT_STEPS[code]
    log.exception("cannot open the pipeline", exc_info=exc)
    return f"无法启动 / cannot start: {type(exc).__name__}", NEXT_STEPS["internal_error"]


_GRAIN_LABELS = {"day": ("日", "day"), "week": ("周", "week"), "month": ("月", "month"),
                 "quarter": ("季度", "quarter"), "year": ("年", "year")}
_SUFFIX_LABELS = {"_previous": ("上期", "previous"), "_growth": ("增长率", "growth"),
                  "_share": ("占比", "share")}


def column_display(columns: list[str], catalog: Mapping[str, Any], language: str
                   ) -> tuple[dict[str, str], set[str]]:
    """Readable column headers from the semantic layer, and which columns hold percentages.

    ``catalog`` is ``Pipeline.catalog()``; unknown columns keep their own names.
    """
    zh = language != "en"
    metrics = {m["name"]: m for m in catalog.get("metrics", [])}
    dims = {d["name"]: d for d in catalog.get("dimensions", [])}

    def label(entry: Mapping[str, Any]) -> str:
        return str(entry.get("label") if zh else (entry.get("label_en") or entry["name"]))

    labels: dict[str, str] = {}
    percent: set[str] = set(percent_columns(columns))
    for col in columns:
        base, suffix = col, None
        for end in _SUFFIX_LABELS:
            if col.endswith(end) and col[: -len(end)] in metrics:
                base, suffix = col[: -len(end)], end
        if base in metrics:
            text = label(metrics[base])
            if suffix:
                text = f"{text}{_SUFFIX_LABELS[suffix][0]}" if zh else f"{text} {_SUFFIX_LABELS[suffix][1]}"
            elif metrics[base].get("format") == "percent":
                percent.add(col)
            labels[col] = text
        elif col in dims:
            labels[col] = label(dims[col])
        elif col in _GRAIN_LABELS:
            labels[col] = _GRAIN_LABELS[col][0 if zh else 1]
    return labels, percent
