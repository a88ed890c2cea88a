"""Frozen pydantic models of the semantic layer YAML (a trimmed dbt MetricFlow).

Names are global: a dimension name (``region``, ``merchant_region``, ``category``) is unique
across all semantic models, and so is a metric name, so a planner can refer to either without
saying which table it lives on. The loader (``loader.py``) reads ``semantic_layer/*.yaml``
into a ``SemanticLayer`` and validation collects every problem with file and line.
The YAML format is documented in ``docs/semantic_layer.md``.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, model_validator

Aggregation = Literal["sum", "count", "count_distinct", "avg", "min", "max"]
DimensionType = Literal["categorical", "time", "tag"]
MetricType = Literal["simple", "ratio", "derived"]
NumberFormat = Literal["number", "integer", "currency", "percent", "days", "score"]
DataType = Literal["string", "integer", "number", "boolean", "date"]
GRAINS = ("day", "week", "month", "quarter", "year")


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Entity(_Frozen):
    """A join key: ``primary`` on the model that owns it, ``foreign`` where it is referenced.

    A model joins to another model through an entity they share when the other side is
    ``primary`` or ``unique`` (many-to-one, so a join never multiplies rows).
    """

    name: str
    type: Literal["primary", "foreign", "unique"]
    expr: str


class Dimension(_Frozen):
    """Something to group or filter by. ``expr`` is SQL over the model's table.

    ``expr`` may use ``{as_of}`` (a DATE literal) and ``{as_of_year}`` (an integer), filled
    in by the compiler (e.g. the age band). A ``tag`` dimension is an array of strings.
    """

    name: str
    type: DimensionType = "categorical"
    expr: str
    label: str  # Chinese label shown to users
    label_en: str | None = None
    synonyms: list[str] = Field(default_factory=list)
    description: str = ""
    pii: bool = False
    index_values: bool = False  # low cardinality: index its distinct values for retrieval
    grains: list[str] = Field(default_factory=list)  # for time dimensions
    # Optional extras (added by the semantic layer owner):
    data_type: DataType | None = None  # type of a value (filters are coerced to it)
    values: list[str] = Field(default_factory=list)  # fixed values when known (age bands)
    value_labels: dict[str, str] = Field(default_factory=dict)  # raw value -> words (1 -> 一线)
    value_labels_en: dict[str, str] = Field(default_factory=dict)  # raw value -> English words (华东 -> East China)
    value_units: list[str] = Field(default_factory=list)  # words after a number that name a value (5星, 2 stars)


class Measure(_Frozen):
    """An aggregation over the model's rows, with an optional SQL filter.

    With ``min_occurrences`` the measure counts the distinct values of ``expr`` that occur
    in at least that many rows (or distinct ``occurrence_key`` values) of the group, e.g.
    buyers with two or more valid orders in the period.
    """

    name: str
    agg: Aggregation
    expr: str = "1"
    filter: str | None = None
    description: str = ""
    min_occurrences: int | None = Field(default=None, ge=2)
    occurrence_key: str | None = None


class SemanticModel(_Frozen):
    """One table (or a SQL SELECT over tables) with its entities, dimensions and measures.

    ``table`` names a warehouse table; a model may give ``sql`` (a SELECT in DuckDB SQL)
    instead, which the compiler inlines as a subquery; then ``table`` is None.
    ``local_dimensions`` maps a global dimension defined on another model to an expression
    over this model's rows that means the same thing (saves a join).
    """

    name: str
    table: str | None = None
    sql: str | None = None
    description: str = ""
    entities: list[Entity] = Field(default_factory=list)
    dimensions: list[Dimension] = Field(default_factory=list)
    measures: list[Measure] = Field(default_factory=list)
    default_time_dimension: str | None = None
    security_column: str | None = None  # ties a row to a merchant (row-level security)
    pii_columns: list[str] = Field(default_factory=list)
    local_dimensions: dict[str, str] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _table_or_sql(self) -> SemanticModel:
        if bool(self.table) == bool(self.sql):
            raise ValueError("a semantic model needs exactly one of `table` or `sql`")
        return self

    def entity(self, name: str) -> Entity | None:
        return next((e for e in self.entities if e.name == name), None)

    def measure(self, name: str) -> Measure | None:
        return next((m for m in self.measures if m.name == name), None)

    def own_dimension(self, name: str) -> Dimension | None:
        return next((d for d in self.dimensions if d.name == name), None)


class Metric(_Frozen):
    """A business metric users ask for by name or synonym."""

    name: str
    label: str
    label_en: str | None = None
    type: MetricType = "simple"
    measure: str | None = None  # simple
    numerator: str | None = None  # ratio: measure names
    denominator: str | None = None
    expr: str | None = None  # derived: arithmetic over other metric names
    metrics: list[str] = Field(default_factory=list)  # derived: the metrics used in expr
    synonyms: list[str] = Field(default_factory=list)
    description: str = ""
    unit: str | None = None  # e.g. 元, %, 天
    format: NumberFormat = "number"
    higher_is_better: bool = True
    # Optional extras:
    time_dimension: str | None = None  # overrides the measure model's default time dimension
    definition_sql: str | None = None  # shown instead of the generated definition (docs only)

    @model_validator(mode="before")
    @classmethod
    def _fill_derived_metrics(cls, data: Any) -> Any:
        """A derived metric lists the metrics its expr uses (filled from expr when omitted)."""
        if isinstance(data, dict) and data.get("type") == "derived" and data.get("expr") and not data.get("metrics"):
            import sqlglot
            from sqlglot import exp

            try:
                tree = sqlglot.parse_one(str(data["expr"]), read="duckdb")
            except sqlglot.errors.ParseError:
                return data  # validation reports the parse error with its line
            nodes = [tree] if isinstance(tree, exp.Column) else list(tree.find_all(exp.Column))
            data = {**data, "metrics": list(dict.fromkeys(c.name for c in nodes))}
        return data

    @model_validator(mode="after")
    def _shape(self) -> Metric:
        if self.type == "simple" and not self.measure:
            raise ValueError("a simple metric needs `measure`")
        if self.type == "ratio" and not (self.numerator and self.denominator):
            raise ValueError("a ratio metric needs `numerator` and `denominator`")
        if self.type == "derived" and not self.expr:
            raise ValueError("a derived metric needs `expr`")
        return self

    def measure_names(self) -> list[str]:
        """The measures a simple or ratio metric reads (derived: none directly)."""
        if self.type == "simple":
            return [self.measure] if self.measure else []
        if self.type == "ratio":
            return [n for n in (self.numerator, self.denominator) if n]
        return []


class MerchantLinkSpec(_Frozen):
    """How rows of a table without a merchant column are tied to one merchant.

    With ``via_table``: ``column IN (SELECT via_column FROM via_table WHERE merchant_id = <id>)``;
    without it: ``column = <id>``; ``when`` adds ``(column, value)`` equality, e.g.
    ``[entity_type, merchant]``.
    """

    column: str
    via_table: str | None = None
    via_column: str | None = None
    when: tuple[str, str] | None = None


class SmallGroupRules(_Frozen):
    """Small groups re-identify people (``chatbi.sql.small_groups``): for roles without PII
    access, no user-level identifier and no group of fewer than ``min_group_size`` people
    (0 switches this off; campaign copy uses the same k). Merchants' groups count people only
    over ``merchant_people_tables``."""

    min_group_size: int = Field(default=50, ge=0)
    user_key: str = "user_id"
    merchant_people_tables: list[str] = Field(default_factory=lambda: ["users"])


class AccessRules(_Frozen):
    """Row rules for ``merchant:<id>`` roles beyond each model's ``security_column``.

    ``merchant_links`` ties tables without a merchant column to a merchant;
    ``merchant_forbidden_tables`` are never readable by a merchant.
    """

    merchant_links: dict[str, MerchantLinkSpec] = Field(default_factory=dict)
    merchant_forbidden_tables: list[str] = Field(default_factory=list)
    small_groups: SmallGroupRules = Field(default_factory=lambda: SmallGroupRules())


class NotInData(_Frozen):
    """A concept the warehouse does not record (height, shipping, competitors, the future):
    a question about it is refused with what the data holds instead, never answered."""

    name: str
    label: str
    label_en: str
    words: list[str] = Field(min_length=1)
    instead: str = ""
    instead_en: str = ""


class SemanticLayer(_Frozen):
    """All semantic models and metrics, with lookups by global name."""

    models: list[SemanticModel]
    metrics: list[Metric]
    access: AccessRules = Field(default_factory=AccessRules)
    not_in_data: list[NotInData] = Field(default_factory=list)
    _cache: dict[str, Any] = PrivateAttr(default_factory=dict)

    def metric(self, name: str) -> Metric:
        for metric in self.metrics:
            if metric.name == name:
                return metric
        raise KeyError(name)

    def dimension(self, name: str) -> tuple[SemanticModel, Dimension]:
        for model in self.models:
            for dim in model.dimensions:
                if dim.name == name:
                    return model, dim
        raise KeyError(name)

    def model(self, name: str) -> SemanticModel:
        for model in self.models:
            if model.name == name:
                return model
        raise KeyError(name)

    def all_dimensions(self) -> list[tuple[SemanticModel, Dimension]]:
        return [(m, d) for m in self.models for d in m.dimensions]

    def models_with_measure(self, name: str) -> list[SemanticModel]:
        """Every model defining measure ``name``, in layer order (the compiler's preference)."""
        return [m for m in self.models if m.measure(name) is not None]

    def has_metric(self, name: str) -> bool:
        return any(m.name == name for m in self.metrics)

    def has_dimension(self, name: str) -> bool:
        return any(d.name == name for m in self.models for d in m.dimensions)

    def cache(self) -> dict[str, Any]:
        """Scratch space for structures derived from this (immutable) layer, e.g. the join graph.
        Read from ``__pydantic_private__`` directly: ``self._cache`` goes through pydantic's
        ``__getattr__`` (about 2.6 µs, and labelling a why-answer's table asks once per cell)."""
        private = self.__pydantic_private__
        return private["_cache"] if private and "_cache" in private else self._cache  # type: ignore[no-any-return]
