"""Semantic checks of a loaded layer; every problem is collected with its file and line.

Checks (MetricFlow-style, all run, none stops the others):
names (duplicate models, dimensions, metrics, measures; a name, label or synonym meaning
two things), SQL (every snippet parses; columns exist in contract tables and in ``sql``
models' projections), entities (a foreign key must point at some primary/unique key),
time (grains, default time dimensions reachable), metrics (known measures and metrics,
derived cycles, measures on models that share no dimension), access rules.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

import sqlglot
from sqlglot import exp

from chatbi.semantic.contract import CONTRACT_TABLES
from chatbi.semantic.graph import JoinGraph
from chatbi.semantic.loader import Problem, SourceMap
from chatbi.semantic.models import GRAINS, Metric, SemanticLayer, SemanticModel
from chatbi.semantic.sqlexpr import columns_of, fill_as_of

_PROBE_DAY = date(2000, 1, 1)


def normalize_term(term: str) -> str:
    """How names and synonyms are compared: case-folded, without whitespace."""
    return "".join(str(term).split()).casefold()


class _Checker:
    def __init__(self, layer: SemanticLayer, sources: SourceMap | None):
        self.layer = layer
        self.src = sources or SourceMap()
        self.problems: list[Problem] = []
        self.graph = JoinGraph(layer)

    def add(self, key: tuple[str, ...], message: str) -> None:
        file, line = self.src.where(*key)
        self.problems.append(Problem(file, line, message))

    # Keys of the SourceMap by position (a name declared twice has a key of its own).
    def mk(self, mi: int) -> str:
        keys = self.src.model_keys
        return keys[mi] if mi < len(keys) else self.layer.models[mi].name

    def ik(self, mi: int, section: str, ii: int, name: str) -> str:
        return self.src.item_keys.get((mi, section, ii), name)

    def tk(self, i: int) -> str:
        keys = self.src.metric_keys
        return keys[i] if i < len(keys) else self.layer.metrics[i].name

    def dim_key(self, mi: int, ii: int) -> tuple[str, str, str]:
        return ("dimension", self.mk(mi), self.ik(mi, "dimensions", ii, self.layer.models[mi].dimensions[ii].name))

    # ---- names ---------------------------------------------------------------------------
    def names(self) -> None:
        seen_models: set[str] = set()
        for mi, model in enumerate(self.layer.models):
            if model.name in seen_models:
                self.add(("model", self.mk(mi)), f"duplicate semantic model `{model.name}`")
            seen_models.add(model.name)
            for section, kind in (("dimensions", "dimension"), ("measures", "measure"), ("entities", "entity")):
                seen: set[str] = set()
                for ii, item in enumerate(getattr(model, section)):
                    if item.name in seen:
                        self.add((kind, self.mk(mi), self.ik(mi, section, ii, item.name)),
                                 f"model `{model.name}`: duplicate {kind} `{item.name}`")
                    seen.add(item.name)
        dim_home: dict[str, tuple[str, tuple[str, ...]]] = {}
        for mi, model in enumerate(self.layer.models):
            for ii, dim in enumerate(model.dimensions):
                key = self.dim_key(mi, ii)
                home = dim_home.get(dim.name)
                if home is not None and home[0] != model.name:
                    file, line = self.src.where(*home[1])
                    self.add(key, f"dimension `{dim.name}` is already defined in model `{home[0]}` "
                                  f"({file}:{line}); dimension names are global")
                dim_home.setdefault(dim.name, (model.name, key))
        seen_metrics: set[str] = set()
        for i, metric in enumerate(self.layer.metrics):
            base = ("metric", self.tk(i))
            if metric.name in seen_metrics:
                file, line = self.src.where("metric", metric.name)
                self.add(base, f"duplicate metric `{metric.name}` (first at {file}:{line})")
            seen_metrics.add(metric.name)
            if metric.name in dim_home:
                self.add(base + ("field", "name"), f"metric `{metric.name}` has the same name as a "
                         f"dimension of model `{dim_home[metric.name][0]}`")
        self.terms()

    def terms(self) -> None:
        """A name, label or synonym may mean one thing only; the later declaration is blamed."""
        claims: list[tuple[tuple[str, int], str, str, str, tuple[str, ...]]] = []

        def claim(term: str | None, kind: str, name: str, key: tuple[str, ...]) -> None:
            if term and normalize_term(term):
                claims.append((self.src.where(*key), term, kind, name, key))

        for i, metric in enumerate(self.layer.metrics):
            base = ("metric", self.tk(i))
            claim(metric.name, "metric", metric.name, base + ("field", "name"))
            claim(metric.label, "metric", metric.name, base + ("field", "label"))
            claim(metric.label_en, "metric", metric.name, base + ("field", "label_en"))
            for word in metric.synonyms:
                claim(word, "metric", metric.name, base + ("synonym", word))
        for mi, model in enumerate(self.layer.models):
            for ii, dim in enumerate(model.dimensions):
                dbase = self.dim_key(mi, ii)
                claim(dim.name, "dimension", dim.name, dbase + ("field", "name"))
                claim(dim.label, "dimension", dim.name, dbase + ("field", "label"))
                claim(dim.label_en, "dimension", dim.name, dbase + ("field", "label_en"))
                for word in dim.synonyms:
                    claim(word, "dimension", dim.name, dbase + ("synonym", word))
        owners: dict[str, tuple[str, str, tuple[str, int]]] = {}
        for where, term, kind, name, key in sorted(claims, key=lambda c: c[0]):
            norm = normalize_term(term)
            owner = owners.get(norm)
            if owner is None:
                owners[norm] = (kind, name, where)
            elif owner[:2] != (kind, name):
                self.add(key, f"{kind} `{name}`: name or synonym `{term}` clashes with {owner[0]} "
                              f"`{owner[1]}` ({owner[2][0]}:{owner[2][1]})")

    # ---- SQL and columns -----------------------------------------------------------------
    def _known_columns(self, model: SemanticModel, mi: int) -> set[str] | None:
        if model.table:
            table = CONTRACT_TABLES.get(model.table)
            return set(table) if table else None
        try:
            tree = sqlglot.parse_one(model.sql or "", read="duckdb")
        except sqlglot.errors.ParseError as exc:
            self.add(("model", self.mk(mi), "field", "sql"), f"model `{model.name}`: SQL does not parse: "
                     f"{_first_line(exc)}")
            return None
        select = tree
        while isinstance(select, exp.Union):
            select = select.this
        if not isinstance(select, exp.Select) or any(isinstance(e, exp.Star) for e in select.expressions):
            return None
        return set(select.named_selects)

    def _check_sql(self, model: SemanticModel, sql: str | None, key: tuple[str, ...], what: str,
                   known: set[str] | None) -> None:
        if not sql:
            return
        try:
            sqlglot.parse_one(fill_as_of(sql, _PROBE_DAY), read="duckdb")
            cols = columns_of(fill_as_of(sql, _PROBE_DAY))
        except sqlglot.errors.ParseError as exc:
            self.add(key, f"model `{model.name}`: {what}: SQL does not parse: {_first_line(exc)}")
            return
        if known is None:
            return
        where = f"table `{model.table}`" if model.table else "its `sql` SELECT"
        for col in sorted(cols - known):
            self.add(key, f"model `{model.name}`: {what}: unknown column `{col}` in {where}")

    def sql(self) -> None:
        for mi, model in enumerate(self.layer.models):
            known = self._known_columns(model, mi)
            mk = self.mk(mi)
            for ii, ent in enumerate(model.entities):
                self._check_sql(model, ent.expr, ("entity", mk, self.ik(mi, "entities", ii, ent.name)),
                                f"entity `{ent.name}`", known)
            for ii, dim in enumerate(model.dimensions):
                self._check_sql(model, dim.expr, self.dim_key(mi, ii) + ("field", "expr"),
                                f"dimension `{dim.name}`", known)
            for ii, mea in enumerate(model.measures):
                key = ("measure", mk, self.ik(mi, "measures", ii, mea.name))
                self._check_sql(model, mea.expr, key + ("field", "expr"), f"measure `{mea.name}`", known)
                self._check_sql(model, mea.filter, key + ("field", "filter"), f"measure `{mea.name}` filter", known)
                self._check_sql(model, mea.occurrence_key, key + ("field", "occurrence_key"),
                                f"measure `{mea.name}` occurrence_key", known)
            for name, sql in model.local_dimensions.items():
                self._check_sql(model, sql, ("local_dimension", mk, name), f"local dimension `{name}`", known)
            if known is not None:
                if model.security_column and model.security_column not in known:
                    self.add(("model", mk, "field", "security_column"),
                             f"model `{model.name}`: unknown column `{model.security_column}`")
                for col in model.pii_columns:
                    if col not in known:
                        self.add(("model", mk, "field", "pii_columns"), f"model `{model.name}`: unknown column `{col}`")

    # ---- structure -----------------------------------------------------------------------
    def structure(self) -> None:
        keyed = {(m.name, e.name) for m in self.layer.models for e in m.entities if e.type in ("primary", "unique")}
        for mi, model in enumerate(self.layer.models):
            mk = self.mk(mi)
            primaries = [e.name for e in model.entities if e.type == "primary"]
            if len(primaries) > 1:
                self.add(("model", mk, "field", "entities"),
                         f"model `{model.name}` has more than one primary entity: {', '.join(primaries)}")
            for ii, ent in enumerate(model.entities):
                if ent.type == "foreign" and not any(e == ent.name and m != model.name for m, e in keyed):
                    self.add(("entity", mk, self.ik(mi, "entities", ii, ent.name)), f"model `{model.name}`: "
                             f"foreign entity `{ent.name}` has no model where it is primary or unique")
            for ii, dim in enumerate(model.dimensions):
                key = self.dim_key(mi, ii)
                if dim.type == "time":
                    bad = [g for g in dim.grains if g not in GRAINS]
                    if bad:
                        self.add(key + ("field", "grains"), f"dimension `{dim.name}`: unknown grain(s) "
                                 f"{', '.join(bad)} (use {', '.join(GRAINS)})")
                elif dim.grains:
                    self.add(key + ("field", "grains"), f"dimension `{dim.name}`: only time dimensions have grains")
                if dim.pii and dim.index_values:
                    self.add(key + ("field", "index_values"), f"dimension `{dim.name}` is PII; its values "
                             "must not be indexed")
            for ii, mea in enumerate(model.measures):
                key = ("measure", mk, self.ik(mi, "measures", ii, mea.name))
                if mea.min_occurrences and mea.agg != "count_distinct":
                    self.add(key + ("field", "min_occurrences"),
                             f"measure `{mea.name}`: min_occurrences needs agg count_distinct")
                if mea.occurrence_key and not mea.min_occurrences:
                    self.add(key + ("field", "occurrence_key"),
                             f"measure `{mea.name}`: occurrence_key needs min_occurrences")
            for name in model.local_dimensions:
                host = self.graph.host_of(name)
                if host is None:
                    self.add(("local_dimension", mk, name),
                             f"model `{model.name}`: local dimension `{name}` is not a dimension of any model")
                elif host[0].name == model.name:
                    self.add(("local_dimension", mk, name), f"model `{model.name}`: `{name}` is already its own dimension")
            if model.default_time_dimension:
                self._time_dim(model.default_time_dimension, [model],
                               ("model", mk, "field", "default_time_dimension"))

    def _time_dim(self, name: str, models: Iterable[SemanticModel], key: tuple[str, ...]) -> None:
        host = self.graph.host_of(name)
        if host is None:
            self.add(key, f"unknown time dimension `{name}`")
            return
        if host[1].type != "time":
            self.add(key, f"`{name}` is not a time dimension")
            return
        for model in models:
            if self.graph.resolve(model.name, name) is None:
                self.add(key, f"time dimension `{name}` cannot be reached from model `{model.name}`")

    # ---- metrics -------------------------------------------------------------------------
    def metrics(self) -> None:
        names = {m.name for m in self.layer.metrics}
        for i, metric in enumerate(self.layer.metrics):
            base = ("metric", self.tk(i))
            for field_name in ("measure", "numerator", "denominator"):
                measure = getattr(metric, field_name)
                if measure and not self.layer.models_with_measure(measure):
                    self.add(base + ("field", field_name),
                             f"metric `{metric.name}`: unknown measure `{measure}`")
            if metric.type == "derived":
                refs = self._derived_refs(metric, base)
                if refs is None:
                    continue
                for ref in sorted(refs - names):
                    self.add(base + ("field", "expr"), f"metric `{metric.name}`: unknown metric `{ref}` in expr")
                if metric.metrics and set(metric.metrics) != refs:
                    self.add(base + ("field", "metrics"), f"metric `{metric.name}`: `metrics` "
                             f"{sorted(metric.metrics)} does not match the metrics in expr {sorted(refs)}")
            elif metric.expr or metric.metrics:
                self.add(base + ("field", "expr"), f"metric `{metric.name}`: only derived metrics take expr/metrics")
            if metric.time_dimension:
                models = [self.layer.models_with_measure(m)[0] for m in self._measures(metric)
                          if self.layer.models_with_measure(m)]
                self._time_dim(metric.time_dimension, models, base + ("field", "time_dimension"))
        self._cycles()
        self._joinable()

    def _derived_refs(self, metric: Metric, base: tuple[str, ...]) -> set[str] | None:
        try:
            tree = sqlglot.parse_one(metric.expr or "", read="duckdb")
        except sqlglot.errors.ParseError as exc:
            self.add(base + ("field", "expr"),
                     f"metric `{metric.name}`: expr does not parse: {_first_line(exc)}")
            return None
        nodes = [tree] if isinstance(tree, exp.Column) else list(tree.find_all(exp.Column))
        return {c.name for c in nodes}

    def _deps(self, metric: Metric) -> list[str]:
        if metric.type != "derived":
            return []
        refs = self._derived_refs_quiet(metric)
        return sorted(refs)

    def _derived_refs_quiet(self, metric: Metric) -> set[str]:
        try:
            tree = sqlglot.parse_one(metric.expr or "", read="duckdb")
        except sqlglot.errors.ParseError:
            return set()
        nodes = [tree] if isinstance(tree, exp.Column) else list(tree.find_all(exp.Column))
        return {c.name for c in nodes}

    def _cycles(self) -> None:
        by_name = {m.name: m for m in self.layer.metrics}
        state: dict[str, int] = {}
        reported: set[frozenset[str]] = set()

        def visit(name: str, stack: list[str]) -> None:
            state[name] = 1
            for dep in self._deps(by_name[name]):
                if dep not in by_name:
                    continue
                if state.get(dep) == 1:
                    cycle = stack[stack.index(dep):] + [dep]
                    members = frozenset(cycle)
                    if members not in reported:
                        reported.add(members)
                        self.add(("metric", name, "field", "expr"),
                                 f"derived metrics form a cycle: {' -> '.join(cycle)}")
                elif state.get(dep) is None:
                    visit(dep, stack + [dep])
            state[name] = 2

        for metric in self.layer.metrics:
            if state.get(metric.name) is None:
                visit(metric.name, [metric.name])

    def _measures(self, metric: Metric, seen: frozenset[str] = frozenset()) -> list[str]:
        """Every measure a metric reads, through derived metrics (cycles cut)."""
        if metric.name in seen:
            return []
        out = list(metric.measure_names())
        for dep in self._deps(metric):
            try:
                out += self._measures(self.layer.metric(dep), seen | {metric.name})
            except KeyError:
                continue
        return out

    def _joinable(self) -> None:
        for i, metric in enumerate(self.layer.metrics):
            models: list[SemanticModel] = []
            for measure in self._measures(metric):
                candidates = self.layer.models_with_measure(measure)
                if candidates and candidates[0].name not in [m.name for m in models]:
                    models.append(candidates[0])
            if len(models) < 2:
                continue
            common = set(self.graph.reachable(models[0].name))
            for model in models[1:]:
                common &= set(self.graph.reachable(model.name))
            if not common:
                self.add(("metric", self.tk(i)),
                         f"metric `{metric.name}` combines measures on models "
                         f"{', '.join('`' + m.name + '`' for m in models)} that share no dimension, "
                         "so they cannot be joined")

    # ---- access --------------------------------------------------------------------------
    def access(self) -> None:
        tables = set(CONTRACT_TABLES) | {m.table for m in self.layer.models if m.table}
        rules = self.layer.access
        for table, link in rules.merchant_links.items():
            if table not in tables:
                self.add(("access",), f"access: unknown table `{table}` in merchant_links")
            if (link.via_table is None) != (link.via_column is None):
                self.add(("access",), f"access: link of `{table}` needs both via_table and via_column")
            if link.via_table and link.via_table not in tables:
                self.add(("access",), f"access: unknown table `{link.via_table}` in the link of `{table}`")
        for table in rules.merchant_forbidden_tables:
            if table not in tables:
                self.add(("access",), f"access: unknown table `{table}` in merchant_forbidden_tables")


    # ---- translations ----------------------------------------------------------------------
    def translations(self) -> None:
        """``value_labels_en``: known values only (when ``values`` is given), no empty words, and
        one value translated the same way wherever it appears (华东 is East China in every region)."""
        seen: dict[str, tuple[str, str]] = {}
        for mi, model in enumerate(self.layer.models):
            for ii, dim in enumerate(model.dimensions):
                if not dim.value_labels_en:
                    continue
                key = self.dim_key(mi, ii) + ("field", "value_labels_en")
                unknown = sorted(set(dim.value_labels_en) - set(dim.values)) if dim.values else []
                if unknown:
                    self.add(key, f"dimension `{dim.name}`: value_labels_en for unknown value(s) "
                             f"{', '.join(unknown)} (values: {', '.join(dim.values)})")
                for raw, words in dim.value_labels_en.items():
                    if not str(words).strip():
                        self.add(key, f"dimension `{dim.name}`: empty English label for `{raw}`")
                        continue
                    if raw in dim.value_labels:
                        continue  # a code (app, 1): its words depend on the dimension
                    first = seen.setdefault(raw, (dim.name, words))
                    if first[1] != words:
                        self.add(key, f"dimension `{dim.name}`: `{raw}` is `{words}` here but "
                                 f"`{first[1]}` in dimension `{first[0]}`")


def _first_line(exc: Exception) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else exc.__class__.__name__


def validate_layer(layer: SemanticLayer, sources: SourceMap | None = None) -> list[Problem]:
    """Every problem of ``layer`` (empty when valid)."""
    checker = _Checker(layer, sources)
    checker.names()
    checker.sql()
    checker.structure()
    checker.metrics()
    checker.access()
    checker.translations()
    return checker.problems
