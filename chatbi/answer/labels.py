"""Business language for every answer table: headers, values and numbers, in one place.

``label_table`` turns an answer's raw columns (``region``, ``gmv_growth``, ``mix_effect``,
``entity_type``…) and rows into a ``LabelledTable``: each column gets a header in the
question's language (metrics and dimensions from the semantic layer, the other answer columns
from ``data/answer_columns.yaml``), a kind (money, percent, percentage points, id, date…)
and one number of decimals for the whole column; values of a dimension are shown through its
``value_labels`` / ``value_labels_en``. Every channel reads the same table: the CLI and Slack
print ``display_rows``, the web app and CSV/Excel exports use ``export_rows`` (labelled
values, rounded numbers, percentages as numbers with a ``%`` header).

``label_frame`` gives charts and findings the same words: dimension values in the question's
language, and a merchant shown by name when the result has both its id and its name.
"""

from __future__ import annotations

import datetime as dt
import decimal
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import lru_cache
from importlib import resources
from typing import TYPE_CHECKING, Any, Literal

import yaml

from chatbi.answer.numbers import format_period, to_date

if TYPE_CHECKING:
    import pandas as pd

    from chatbi.semantic.models import Dimension, Metric, SemanticLayer

Language = Literal["zh", "en"]
Kind = Literal["text", "id", "integer", "number", "money", "percent", "signed_percent", "pp",
               "signed_money", "signed_number", "days", "score", "date", "period", "boolean"]
MISSING = "—"
GRAIN_WORDS = {"day": ("日期", "Day"), "week": ("周", "Week"), "month": ("月份", "Month"),
               "quarter": ("季度", "Quarter"), "year": ("年份", "Year")}
SUFFIX_WORDS = {"_previous": ("（上期）", " (previous)"), "_growth": ("增长率", " growth"),
                "_share": ("占比", " share")}
BOOL_WORDS = {"zh": ("是", "否"), "en": ("yes", "no")}
UNKNOWN_WORDS = {"zh": "未知", "en": "unknown"}
_NUMERIC_KINDS = {"integer", "number", "money", "percent", "signed_percent", "pp", "signed_money",
                  "signed_number", "days", "score"}
_RATIO_KINDS = {"percent", "signed_percent", "pp"}
_IDENTIFIER = re.compile(r"^[a-z][a-z0-9]*(?:_[a-z0-9]+)+$")


@lru_cache(maxsize=1)
def answer_columns() -> dict[str, dict[str, Any]]:
    """The packaged labels of non-semantic-layer answer columns (read once)."""
    text = resources.files("chatbi.answer").joinpath("data/answer_columns.yaml").read_text(encoding="utf-8")
    return dict(yaml.safe_load(text) or {})


def is_identifier(text: str) -> bool:
    """True for a raw snake_case name such as ``mix_effect`` (never shown to a user)."""
    return bool(_IDENTIFIER.match(text or ""))


def _lang(language: str | None) -> Language:
    return "en" if language == "en" else "zh"


# ---------------------------------------------------------------------------------------
# Words for names and values
# ---------------------------------------------------------------------------------------

def metric_label(layer: SemanticLayer, name: str, language: str) -> str:
    """A metric's label in the language (the name itself only for unknown metrics)."""
    metric = _metric(layer, name)
    if metric is None:
        return name
    return (metric.label_en or metric.label) if _lang(language) == "en" else metric.label


def dimension_label(layer: SemanticLayer, name: str, language: str) -> str:
    """A dimension's (or time bucket's) label in the language."""
    if name in GRAIN_WORDS:
        return GRAIN_WORDS[name][1 if _lang(language) == "en" else 0]
    dim = _dimension(layer, name)
    if dim is None:
        return name
    return (dim.label_en or dim.label) if _lang(language) == "en" else dim.label


def value_label(layer: SemanticLayer, dimension: str, value: Any, language: str) -> str:
    """A dimension value in words: 华东 → East China (en), app → App, 1 → 一线, None → 未知."""
    lang = _lang(language)
    if _missing(value):
        return UNKNOWN_WORDS[lang]
    if isinstance(value, bool):
        return BOOL_WORDS[lang][0 if value else 1]
    if isinstance(value, list | tuple):
        return (", " if lang == "en" else "、").join(value_label(layer, dimension, v, lang) for v in value)
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value)
    dim = _dimension(layer, dimension)
    if dim is None:
        return text
    if lang == "en":
        if text in dim.value_labels_en:
            return dim.value_labels_en[text]
        return text.replace("_", " ") if text in dim.value_labels and text.isascii() else text
    return dim.value_labels.get(text, text)


def _metric(layer: SemanticLayer, name: str) -> Metric | None:
    cache = layer.cache()
    if "labels.metrics" not in cache:  # built once per (immutable) layer
        cache["labels.metrics"] = {m.name: m for m in layer.metrics}
    return cache["labels.metrics"].get(name)  # type: ignore[no-any-return]


def _dimension(layer: SemanticLayer, name: str) -> Dimension | None:
    cache = layer.cache()
    if "labels.dimensions" not in cache:
        cache["labels.dimensions"] = {d.name: d for _, d in layer.all_dimensions()}
    return cache["labels.dimensions"].get(name)  # type: ignore[no-any-return]


def _dimension_by_label(layer: SemanticLayer, label: str) -> str | None:
    cache = layer.cache().setdefault("labels.by_label", {})
    if not cache:
        for _, dim in layer.all_dimensions():
            for word in (dim.label, dim.label_en, dim.name):
                if word:
                    cache.setdefault(word, dim.name)
    return cache.get(label)  # type: ignore[no-any-return]


def _missing(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, float):
        return math.isnan(value) or math.isinf(value)
    if isinstance(value, str | int | list | tuple | dict | dt.date | decimal.Decimal):
        return False
    try:
        import pandas as pd

        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def _number(value: Any) -> float | None:
    if _missing(value) or isinstance(value, bool):
        return None
    if isinstance(value, int | float | decimal.Decimal):
        return float(value)
    if hasattr(value, "item"):
        return _number(value.item())
    return None


# ---------------------------------------------------------------------------------------
# Columns
# ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Column:
    """One labelled column: its raw name, header, kind and decimals, and how to word values."""

    name: str
    header: str
    kind: Kind = "text"
    decimals: int = 0
    dimension: str | None = None  # values are this dimension's values
    grain: str | None = None  # a time bucket
    codes: Mapping[str, Sequence[str]] = field(default_factory=dict)  # code -> (中文, English)
    row_metric: bool = False  # the unit comes from the row's `metric` column
    segment: bool = False  # the dimension comes from the row's `dimension(_label)` column
    metric_names: bool = False  # values are metric names
    entity_dimensions: Mapping[str, Sequence[str]] = field(default_factory=dict)  # entity_type -> dims

    @property
    def numeric(self) -> bool:
        return self.kind in _NUMERIC_KINDS


def _kind_of_metric(metric: Metric | None, *, change: bool = False) -> Kind:
    fmt = metric.format if metric is not None else "number"
    if fmt == "percent":
        return "pp" if change else "percent"
    if fmt == "currency":
        return "signed_money" if change else "money"
    if change:
        return "signed_number"
    return {"integer": "integer", "days": "days", "score": "score"}.get(fmt, "number")  # type: ignore[return-value]


def describe_column(name: str, layer: SemanticLayer, language: str, *, metric: str | None = None,
                    grain: str | None = None) -> Column:
    """Header and kind of one raw column. ``metric`` is the answer's metric (why-answers)."""
    lang = _lang(language)
    en = lang == "en"
    if name in GRAIN_WORDS:
        return Column(name, dimension_label(layer, name, lang), "period", grain=name)
    if _metric(layer, name) is not None:
        return Column(name, metric_label(layer, name, lang), _kind_of_metric(_metric(layer, name)))
    for suffix, words in SUFFIX_WORDS.items():
        base = name[: -len(suffix)] if name.endswith(suffix) else ""
        if base and _metric(layer, base) is not None:
            header = metric_label(layer, base, lang) + words[1 if en else 0]
            kind: Kind = {"_previous": _kind_of_metric(_metric(layer, base)),
                          "_growth": "signed_percent", "_share": "percent"}[suffix]  # type: ignore[assignment]
            return Column(name, header, kind)
    dim = _dimension(layer, name)
    if dim is not None:
        header = dimension_label(layer, name, lang)
        if dim.type == "time":
            return Column(name, header, "date", grain=grain)
        if dim.data_type == "boolean":
            return Column(name, header, "boolean")
        if name.endswith("_id") or dim.data_type == "integer":
            return Column(name, header, "id", dimension=name)
        return Column(name, header, "text", dimension=name)
    spec = answer_columns().get(name)
    if spec is None:
        return Column(name, name.replace("_", " ") if is_identifier(name) else name, "text")
    header = str(spec.get("en" if en else "zh") or name)
    kind_word = str(spec.get("kind", "text"))
    the_metric = _metric(layer, metric) if metric else None
    if kind_word == "metric":
        return Column(name, header, _kind_of_metric(the_metric))
    if kind_word == "metric_change":
        return Column(name, header, _kind_of_metric(the_metric, change=True))
    if kind_word == "row_metric":
        return Column(name, header, "number", row_metric=True)
    if kind_word == "metric_name":
        return Column(name, header, "text", metric_names=True, codes=dict(spec.get("values") or {}))
    if kind_word == "entity":
        return Column(name, header, "text", entity_dimensions=dict(spec.get("dimensions") or {}))
    if kind_word == "segment":
        return Column(name, header, "text", segment=True)
    if kind_word == "value":
        values = spec.get("values")
        if isinstance(values, str):
            return Column(name, header, "text", dimension=values)
        return Column(name, header, "text", codes=dict(values or {}))
    return Column(name, header, kind_word if kind_word in _NUMERIC_KINDS | {"id", "date", "text"}
                  else "text")  # type: ignore[arg-type]


def _decimals(kind: Kind, values: Sequence[float]) -> int:
    """One number of decimals for a column, from its largest value (about three digits)."""
    if kind in ("integer", "id"):
        return 0
    sizes = [abs(v) for v in values if v is not None and math.isfinite(v)]
    top = max(sizes) if sizes else 0.0
    if kind in _RATIO_KINDS:
        return 1  # every rate, share and percentage point with one decimal
    if kind in ("money", "signed_money"):
        return 0 if top >= 100 or all(float(v).is_integer() for v in sizes) else 2
    if kind == "days":
        return 1
    if kind == "score":
        return 2
    if all(float(v).is_integer() for v in sizes):
        return 0
    return 0 if top >= 1000 else 1 if top >= 10 else 2


# ---------------------------------------------------------------------------------------
# The table
# ---------------------------------------------------------------------------------------

@dataclass
class LabelledTable:
    """An answer's rows with labelled columns; display text and export values from one place."""

    columns: list[Column]
    rows: list[list[Any]]
    language: Language
    layer: SemanticLayer | None = None
    hidden: frozenset[str] = frozenset()

    @property
    def shown(self) -> list[int]:
        return [i for i, c in enumerate(self.columns) if c.name not in self.hidden]

    @property
    def headers(self) -> list[str]:
        return [self.columns[i].header for i in self.shown]

    @property
    def kinds(self) -> list[str]:
        return [self.columns[i].kind for i in self.shown]

    def export_headers(self) -> list[str]:
        """Headers for CSV/Excel: percentages are numbers there, so the header says %."""
        out = []
        for i in self.shown:
            col = self.columns[i]
            unit = ""
            if col.kind in ("percent", "signed_percent"):
                unit = " (%)" if self.language == "en" else "（%）"
            elif col.kind == "pp":
                unit = " (pp)" if self.language == "en" else "（百分点）"
            elif col.kind in ("money", "signed_money"):
                unit = " (¥)" if self.language == "en" else "（元）"
            out.append(col.header + unit)
        return out

    def _cell_kind(self, col: Column, row: Sequence[Any]) -> tuple[Kind, int]:
        if col.row_metric and self.layer is not None:
            name = self._row_value(row, "metric")
            metric = _metric(self.layer, str(name)) if name is not None else None
            kind = _kind_of_metric(metric) if metric is not None else (
                "percent" if str(name).endswith(("_rate", "_share")) else col.kind)
            if metric is not None or kind != col.kind:
                return kind, _decimals(kind, [v for v in (_number(row[self.columns.index(col)]),) if v is not None])
        return col.kind, col.decimals

    def _row_value(self, row: Sequence[Any], name: str) -> Any:
        for i, c in enumerate(self.columns):
            if c.name == name and i < len(row):
                return row[i]
        return None

    def _words(self, col: Column, row: Sequence[Any], value: Any) -> str | None:
        """Words for a non-numeric value (None when the value is a number to format)."""
        lang = self.language
        if _missing(value):
            return MISSING
        if col.metric_names and self.layer is not None and _metric(self.layer, str(value)) is not None:
            return metric_label(self.layer, str(value), lang)
        if col.codes or col.metric_names:
            words = col.codes.get(str(value))
            return str(words[1 if lang == "en" else 0]) if words else str(value)
        if col.entity_dimensions and self.layer is not None:
            dims = col.entity_dimensions.get(str(self._row_value(row, "entity_type")))
            parts = str(value).split("/")
            if dims and len(dims) == len(parts):
                return "/".join(value_label(self.layer, d, p, lang) for d, p in zip(dims, parts, strict=True))
            return str(value)
        if col.segment and self.layer is not None:
            dim = self._row_value(row, "dimension")
            if dim is None:
                label = self._row_value(row, "dimension_label")
                dim = _dimension_by_label(self.layer, str(label)) if label is not None else None
            return value_label(self.layer, str(dim), value, lang) if dim else str(value)
        if col.dimension and self.layer is not None and col.kind != "id":
            return value_label(self.layer, col.dimension, value, lang)
        if col.kind == "period":
            return format_period(value, col.grain, lang)
        if col.kind == "date" or isinstance(value, dt.date | dt.datetime):
            day = to_date(value)
            return day.isoformat() if day else str(value)
        if isinstance(value, bool) or col.kind == "boolean":
            return BOOL_WORDS[lang][0 if bool(value) else 1]
        if isinstance(value, list | tuple):
            return (", " if lang == "en" else "、").join(str(v) for v in value)
        return None

    def cell_text(self, col: Column, row: Sequence[Any], value: Any) -> str:
        """One cell as display text."""
        words = self._words(col, row, value)
        if words is not None:
            return words
        number = _number(value)
        if number is None:
            return str(value)
        kind, decimals = self._cell_kind(col, row)
        return format_number(number, kind, decimals, self.language)

    def cell_value(self, col: Column, row: Sequence[Any], value: Any) -> Any:
        """One cell for export: words for labels, numbers rounded (percentages × 100)."""
        words = self._words(col, row, value)
        if words is not None:
            return None if words == MISSING else words
        number = _number(value)
        if number is None:
            return str(value)
        if col.row_metric:  # units differ by row (GMV beside a rate): the words as shown
            return self.cell_text(col, row, value)
        kind, decimals = self._cell_kind(col, row)
        if kind == "id":
            return int(number) if number.is_integer() else number
        if kind in _RATIO_KINDS:
            number *= 100
        rounded = round(number, decimals) + 0.0  # + 0.0: no -0.0
        return int(rounded) if decimals == 0 else rounded

    def display_rows(self, limit: int | None = None) -> list[list[str]]:
        rows = self.rows if limit is None else self.rows[:limit]
        return [[self.cell_text(self.columns[i], row, row[i] if i < len(row) else None) for i in self.shown]
                for row in rows]

    def export_rows(self, limit: int | None = None) -> list[list[Any]]:
        rows = self.rows if limit is None else self.rows[:limit]
        return [[self.cell_value(self.columns[i], row, row[i] if i < len(row) else None) for i in self.shown]
                for row in rows]

    def to_dict(self) -> dict[str, Any]:
        """The labelled table for channels (JSON): headers, kinds, display text, export values."""
        return {"headers": self.headers, "export_headers": self.export_headers(), "kinds": self.kinds,
                "rows": self.display_rows(), "values": self.export_rows(), "language": self.language}


def format_number(number: float, kind: Kind | str, decimals: int, language: str) -> str:
    """A number as a table cell: ¥1,234 · 12.3% · +4.5% · -2.8pp · 1,234 · 12.3天."""
    lang = _lang(language)
    if kind == "id":
        return str(int(number)) if float(number).is_integer() else str(number)
    value = number * 100 if kind in _RATIO_KINDS else number
    value = round(value, decimals) + 0.0
    signed = kind in ("signed_percent", "pp", "signed_money", "signed_number")
    sign = "-" if value < 0 else ("+" if signed and value > 0 else "")
    body = f"{abs(value):,.{decimals}f}"
    if kind in ("percent", "signed_percent"):
        return f"{sign}{body}%"
    if kind == "pp":
        return f"{sign}{body}{' pp' if lang == 'en' else '个百分点'}"
    if kind in ("money", "signed_money"):
        return f"{sign}¥{body}"
    if kind == "days":
        return f"{sign}{body}{' days' if lang == 'en' else '天'}"
    return f"{sign}{body}"


def label_table(columns: Sequence[str], rows: Sequence[Sequence[Any]], layer: SemanticLayer | None,
                language: str, *, metric: str | None = None, grain: str | None = None,
                hidden: Sequence[str] = ()) -> LabelledTable:
    """Label an answer's columns and fix each numeric column's decimals from its values."""
    lang = _lang(language)
    described: list[Column] = []
    for i, name in enumerate(columns):
        if layer is None:
            col = Column(str(name), str(name), "text")
        else:
            col = describe_column(str(name), layer, lang, metric=metric, grain=grain)
        values = [_number(r[i]) for r in rows if i < len(r)]
        numbers = [v for v in values if v is not None]
        if col.kind == "text" and numbers and len(numbers) == len([v for r in rows if i < len(r)
                                                                    for v in [r[i]] if not _missing(v)]) \
                and not (col.dimension or col.codes or col.segment or col.metric_names):
            col = Column(col.name, col.header, "number")  # hand-written SQL: a numeric column
        if col.numeric:
            col = replace(col, decimals=_decimals(col.kind, numbers))
        described.append(col)
    table = LabelledTable(described, [list(r) for r in rows], lang, layer)
    for i, col in enumerate(described):  # a row-metric column whose rows share one unit takes it
        if col.row_metric:
            kinds = {table._cell_kind(col, r)[0] for r in table.rows if i < len(r) and _number(r[i]) is not None}
            numbers = [v for r in table.rows if i < len(r) for v in [_number(r[i])] if v is not None]
            kind = kinds.pop() if len(kinds) == 1 else "text"
            described[i] = replace(col, kind=kind, row_metric=kind == "text",
                                   decimals=_decimals(kind, numbers) if kind != "text" else 0)
    if lang == "en":  # headers start with a capital (labels are lower case in running text)
        described = [replace(c, header=c.header[:1].upper() + c.header[1:]) for c in described]
    hide = frozenset(h for h in hidden if h in columns)
    return LabelledTable(described, [list(r) for r in rows], lang, layer, hide)


def cell_words(columns: Sequence[str], row: Sequence[Any], column: str, layer: SemanticLayer,
               language: str) -> str:
    """One cell of a row in words, labelled as the answer's table labels it (for sentences and
    chart labels that quote a row: "region · sign-up channel South China/Douyin")."""
    table = label_table([str(c) for c in columns], [list(row)], layer, language)
    i = list(columns).index(column)
    return table.cell_text(table.columns[i], table.rows[0], table.rows[0][i])


COPY_CHANNEL_WORDS = {"sms": ("短信", "SMS"), "push": ("推送", "push"), "wechat": ("微信", "WeChat"),
                      "email": ("邮件", "email"), "xiaohongshu": ("小红书", "Xiaohongshu")}
ANGLE_WORDS = {"offer": ("优惠", "offer"), "novelty": ("上新", "novelty"), "reminder": ("提醒", "reminder")}


def copy_heading(item: Mapping[str, Any], language: str) -> str:
    """The heading of one piece of copy: segment · channel · size · angle, in the language."""
    en = _lang(language) == "en"
    parts = [str(item.get("segment") or "")]
    channel = str(item.get("channel") or "")
    parts.append(COPY_CHANNEL_WORDS.get(channel, (channel, channel))[1 if en else 0])
    size = item.get("segment_size")
    if isinstance(size, int):
        parts.append(f"{size:,} users" if en else f"{size:,} 人")
    angle = item.get("angle")
    if angle:
        words = ANGLE_WORDS.get(str(angle), (str(angle), str(angle)))
        parts.append(f"angle: {words[1]}" if en else f"角度：{words[0]}")
    return " · ".join(p for p in parts if p)


def names_stand_for_ids(ids: Sequence[Any], names: Sequence[Any]) -> bool:
    """True when every row has a name and names and ids match one to one (two merchants
    sharing a name keep their ids visible; one merchant over several months is still one)."""
    if any(_missing(n) for n in names):
        return False
    pairs = {(str(i), str(n)) for i, n in zip(ids, names, strict=True)}
    return len(pairs) == len({p[0] for p in pairs}) == len({p[1] for p in pairs})


def named_ids(columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> list[str]:
    """Id columns that the row's name stands for: ``merchant_id`` beside ``merchant_name``
    (``names_stand_for_ids``): a top-N of merchants reads by name."""
    out = []
    for id_column, name_column in NAME_COLUMNS.items():
        if id_column in columns and name_column in columns:
            i, j = list(columns).index(id_column), list(columns).index(name_column)
            cells = [(r[i] if i < len(r) else None, r[j] if j < len(r) else None) for r in rows]
            if names_stand_for_ids([c[0] for c in cells], [c[1] for c in cells]):
                out.append(id_column)
    return out


def hidden_columns(columns: Sequence[str], language: str,
                   rows: Sequence[Sequence[Any]] = ()) -> list[str]:
    """Columns not worth showing: a row's dimension name when its label is there too, an id
    whose name is there (``named_ids``), and columns written in another language only (the
    alert build's Chinese message)."""
    hidden = ["dimension"] if "dimension" in columns and "dimension_label" in columns else []
    hidden += named_ids(columns, rows)
    specs = answer_columns()
    for name in columns:
        spec = specs.get(name) or {}
        languages = spec.get("languages")
        if (languages and _lang(language) not in languages) or spec.get("hidden_with") in columns:
            hidden.append(name)
    return hidden


def label_answer(answer: Any, layer: SemanticLayer) -> LabelledTable | None:
    """The labelled table of an Answer (None when it has no columns)."""
    if not answer.columns:
        return None
    query = answer.semantic_query
    metric = query.metrics[0] if query is not None and query.metrics else None
    grain = query.grain if query is not None else None
    return label_table(answer.columns, answer.rows, layer, answer.language, metric=metric, grain=grain,
                       hidden=hidden_columns(answer.columns, answer.language, answer.rows))


# ---------------------------------------------------------------------------------------
# Frames for charts and findings
# ---------------------------------------------------------------------------------------

NAME_COLUMNS = {"merchant_id": "merchant_name"}


def label_frame(frame: pd.DataFrame, layer: SemanticLayer, language: str,
                dimensions: Sequence[str] = ()) -> pd.DataFrame:
    """The result frame in the question's language for charts and findings: dimension values
    through their value labels (English words for an English question), and an id column
    dropped when its names stand for it one to one (a merchant by name, ``named_ids``)."""
    lang = _lang(language)
    out = frame
    for column in list(frame.columns):
        name = str(column)
        if name in NAME_COLUMNS and NAME_COLUMNS[name] in frame.columns:
            if names_stand_for_ids(list(frame[column]), list(frame[NAME_COLUMNS[name]])):
                out = out.drop(columns=[column])
            continue
        dim = _dimension(layer, name)
        if dim is None or dim.type == "time" or name.endswith("_id") or dim.data_type in ("integer", "boolean"):
            continue
        if not (dim.value_labels or (lang == "en" and dim.value_labels_en)):
            continue
        if out is frame:
            out = frame.copy()
        out[column] = [v if _missing(v) else value_label(layer, name, v, lang) for v in frame[column]]
    return out
