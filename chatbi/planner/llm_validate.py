"""Check a tool call the model made and turn it into a ``Plan``, or into a ``Problem`` to feed back.

Nothing the model says is trusted:

* ``plan_query``: every metric and dimension name is looked up in the catalog (an exact
  label or synonym is mapped to its name; anything else is an unknown name with
  candidates), so are the names in ``share_part`` (a filter: the part of a whole) and
  ``count_as`` (a metric: the column counting the entities that pass ``having``); a value
  of a dimension whose values are all known must be one of them (an English label or
  another case is mapped to it; anything else is sent back with the real values, and asked
  about if the model insists); ``per_period`` only for sums and counts (the offline
  planner's rule); time words go through ``parse_time`` against the as-of date, a period
  after the as-of date is refused, each metric must be able to use each dimension, the
  query must compile, and the compiled SQL must pass ``guard_sql`` for the caller's role;
* ``write_sql``: the SQL must pass ``guard_sql`` for the caller's role, and DuckDB must be
  able to plan it (a ``LIMIT 0`` dry run when an executor is given);
* ``ask_clarification`` / ``refuse``: the product's own wording, never the model's.

Whatever the model chose, a question naming something the data does not hold (the
semantic layer's ``not_in_data``, found by the offline planner's own detection through
``llm_rules``) is refused with what the data holds instead.

A ``Problem`` carries the text sent back to the model (at most twice per question).
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, Literal, cast

from pydantic import ValidationError

from chatbi.errors import ChatBIError, CompileError, GuardError, UserInputError
from chatbi.planner import messages
from chatbi.planner.build import time_text
from chatbi.planner.llm_context import Selection
from chatbi.planner.llm_rules import LLMRules, Reading, not_in_data_message
from chatbi.planner.llm_tools import Decision
from chatbi.planner.llm_types import LLMPlan
from chatbi.planner.time_parser import latest_complete_month, parse_time
from chatbi.planner.types import CopyChannel, CopyRequest, Grain, Plan, WhyRequest
from chatbi.semantic.catalog import Catalog
from chatbi.semantic.compiler import compile_query
from chatbi.semantic.query import Filter, FilterOp, MetricFilter, OrderBy, SemanticQuery, TimeRange
from chatbi.sql.engines import dialect_of, guard_options
from chatbi.sql.guard import guard_sql
from chatbi.sql.policy import AccessPolicy, Role

__all__ = ["PlanChecker", "Problem"]

ProblemKind = Literal["names", "value", "time", "args", "compile", "guard", "sql_error"]
_MESSAGE_CHARS = 400
# refuse(reason_code) -> the product's refusal text (chatbi.planner.messages)
_REFUSALS = {"data_change": "refuse_data_change", "personal_data": "refuse_pii",
             "rules": "refuse_injection", "sql_text": "refuse_sql"}
_HINT_CHARS = 700
_COPY_CHANNELS = ("sms", "push", "wechat", "email", "xiaohongshu", "generic")
_PER_PERIOD = ("day", "week", "month")
_PER_PERIOD_WORDS = {"zh": {"day": "平均每天", "week": "平均每周", "month": "平均每月"},
                     "en": {"day": "per day on average", "week": "per week on average", "month": "per month on average"}}
_COMPLETE_VALUES = 300  # chatbi.retrieval.values reads at most this many values of a dimension


@dataclass(frozen=True)
class Problem:
    """Why a tool call was rejected: ``problem`` and ``hint`` are sent back to the model."""

    kind: ProblemKind
    problem: str
    hint: str = ""
    user_message: str | None = None  # shown to the user if the model never gets it right
    # (a refusal for the guard, a clarifying question otherwise)


def _shown(text: Any, limit: int) -> str:
    """Model text that is shown to the user (a copy segment's name, its topic): capped, and
    dropped when it carries a link, contact details, markup or an instruction."""
    from chatbi.answer.text_safety import unsafe_reason

    capped = _cap(text, limit)
    return "" if unsafe_reason(capped) else capped


def _cap(text: Any, limit: int) -> str:
    clean = " ".join(str(text or "").split())
    return clean if len(clean) <= limit else clean[: limit - 1] + "…"


class PlanChecker:
    """Validates decisions against one layer, policy and (optionally) a warehouse executor."""

    def __init__(self, catalog: Catalog, policy: AccessPolicy, executor: Any = None, *,
                 values: Any = None, rules: LLMRules | None = None):
        """``values``: dimension -> its known values (checked when the list is complete);
        ``rules``: the offline planner's rules (per-period averages)."""
        self.catalog = catalog
        self.layer = catalog.layer
        self.policy = policy
        self.executor = executor
        self.values = {str(k): [str(v) for v in vs] for k, vs in (values or {}).items()}
        self.rules = rules

    def check(self, decision: Decision, *, as_of: date, role: Role, language: str,
              selection: Selection, question: str = "", reading: Reading | None = None) -> Plan | Problem:
        """The plan a decision stands for, or the problem to feed back. ``reading`` is the
        offline rules' reading of the question (``LLMRules.read``)."""
        reading = reading or Reading()
        copy = decision.tool == "plan_query" and decision.args.get("intent") == "copy"
        if reading.out_of_data is not None and decision.tool != "refuse" and not copy:
            concept, word = reading.out_of_data  # never a neighbouring number for what the data lacks
            return LLMPlan(intent="refuse", language=language,  # type: ignore[arg-type]
                           message=not_in_data_message(concept, word, language))
        if decision.tool == "plan_query":
            args = dict(decision.args)
            if question and not any(args.get(k) for k in ("time_words", "start_date", "end_date")):
                found = parse_time(question, as_of)  # the model forgot the question's time words
                if found is not None and found.range is not None and found.span is not None:
                    args["time_words"] = question[found.span[0]:found.span[1]]
            return self._plan_query(args, as_of=as_of, role=role, language=language, selection=selection)
        if decision.tool == "write_sql":
            return self._write_sql(decision.args, role=role, language=language)
        if decision.tool == "ask_clarification":
            # Only the product's template is shown; the model's own words (a "question" it may
            # still send) never reach the user. Candidates are known metric names, shown by label.
            names = list(dict.fromkeys(
                str(n) for n in decision.args.get("candidates") or [] if self.catalog.get_metric(str(n))))[:5]
            shown = [self._metric_label(n, language) for n in names or selection.metrics[:3]]
            text = messages.text("need_metric", language, candidates="、".join(shown))
            return LLMPlan(intent="clarify", language=language, message=text, candidates=tuple(names))  # type: ignore[arg-type]
        code = str(decision.args.get("reason_code") or "")
        if code == "not_in_data":
            return self._not_in_data(decision.args, reading, language, selection)
        text = messages.text(_REFUSALS.get(code, "refuse_injection"), language)
        return LLMPlan(intent="refuse", language=language, message=text)  # type: ignore[arg-type]

    def _not_in_data(self, args: dict[str, Any], reading: Reading, language: str, selection: Selection) -> Plan:
        """refuse(not_in_data): the concept the question named, in the product's words; when
        the model names no concept of the layer, ask with the metrics that do exist."""
        if reading.out_of_data is not None:
            concept, word = reading.out_of_data
        else:
            said = str(args.get("concept") or "").strip().casefold()
            found = [c for c in self.layer.not_in_data
                     if said and said in (c.name.casefold(), c.label.casefold(), c.label_en.casefold())]
            if not found:
                shown = [self._metric_label(n, language) for n in selection.metrics[:3]]
                return LLMPlan(intent="clarify", language=language,  # type: ignore[arg-type]
                               message=messages.text("need_metric", language, candidates="、".join(shown) or "-"),
                               candidates=tuple(selection.metrics[:3]))
            concept = found[0]
            word = concept.label if language == "zh" else concept.label_en
        return LLMPlan(intent="refuse", language=language,  # type: ignore[arg-type]
                       message=not_in_data_message(concept, word, language))

    def _metric_label(self, name: str, language: str) -> str:
        metric = self.catalog.get_metric(name)
        if metric is None:
            return name
        return str((getattr(metric, "label_en", None) if language == "en" else None)
                   or getattr(metric, "label", None) or name)

    # ------------------------------------------------------------------ plan_query
    def _plan_query(self, args: dict[str, Any], *, as_of: date, role: Role, language: str,
                    selection: Selection) -> Plan | Problem:
        intent = args.get("intent") if args.get("intent") in ("query", "why", "definition", "copy") else "query"
        names = self._resolve_names(args, selection, language)
        if isinstance(names, Problem):
            return names
        metrics, dims, filters, having, time_dim, share_part, count_as = names
        if intent == "definition":
            return LLMPlan(intent="definition", language=language, definitions=tuple(metrics))  # type: ignore[arg-type]
        if intent == "copy":
            return self._copy(args, filters, language)
        time = self._time(args, as_of)
        if isinstance(time, Problem):
            return time
        time_range, comparison, unit = time
        if time_range is not None and time_range.start > as_of:  # the offline planner's rule: no forecasts
            label = time_range.label or f"{time_range.start.isoformat()} – {time_range.end.isoformat()}"
            return LLMPlan(intent="refuse", language=language,  # type: ignore[arg-type]
                           message=messages.text("future_range", language, label=label, as_of=as_of.isoformat()))
        notes: list[str] = []
        if intent == "why":
            if time_range is None:
                time_range = latest_complete_month(as_of, language)
                notes.append(messages.text("note_default_time", language, label=time_range.label or ""))
            comparison = comparison or "previous_period"
        grain = args.get("grain") or None
        share_of_total = bool(args.get("share_of_total"))
        order_by, limit = _order_by(args.get("order_by")), args.get("limit") or None
        per_period = args.get("per_period") or None
        if per_period is not None and intent == "query":
            if per_period not in _PER_PERIOD:
                return Problem("args", f"per_period must be one of {', '.join(_PER_PERIOD)}", "")
            if grain or comparison or share_of_total or share_part is not None:
                return Problem("args", "per_period is an average over the whole time range",
                               "leave grain, comparison and share empty with per_period, or drop per_period")
            stuck = self.rules.per_period_problem(metrics, as_of=as_of, language=language) if self.rules else None
            if stuck is not None:
                return Problem("value", "per_period averages only sums and counts",
                               "for a daily/monthly trend of a rate use grain instead of per_period",
                               user_message=stuck.message)
            if time_range is None:
                time_range = latest_complete_month(as_of, language)
                notes.append(messages.text("note_default_time", language, label=time_range.label or ""))
            said = _PER_PERIOD_WORDS["zh" if language == "zh" else "en"][per_period]
            label = f"{time_range.label or ''}（{said}）" if language == "zh" else f"{time_range.label or ''} ({said})"
            time_range = time_range.model_copy(update={"label": label.strip()})  # as the offline planner states it
        else:
            per_period = None
        if share_part is not None:  # 沉默用户里男性占几成: the part's rows of a share breakdown by its dimension
            share_of_total = True
            filters = [f for f in filters if f.dimension != share_part.dimension]
            dims = [share_part.dimension, *(d for d in dims if d != share_part.dimension)]
            order_by, limit = [], None
        if count_as is not None:  # 下单3次以上的用户有多少: the entities passing ``having``, counted
            entities = [d for d in dims if d.endswith("_id")]
            if not entities or not having:
                return Problem("args", "count_as needs the counted entity's id dimension (e.g. user_id) in "
                               "dimensions and the condition in having", "")
            dims = [*(d for d in dims if d != entities[-1]), entities[-1]]
            order_by, limit = [], None
        try:
            query = SemanticQuery(
                metrics=metrics, dimensions=dims, filters=filters, having=having,
                time_dimension=time_dim, time_range=time_range, grain=grain,
                comparison=comparison, share_of_total=share_of_total, share_part=share_part,
                per_period=per_period, count_as=count_as, order_by=order_by, limit=limit,
            )
        except ValidationError as exc:
            return Problem("args", "the plan_query arguments are invalid",
                           _cap("; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()),
                                _HINT_CHARS))
        problem = self._compatibility(query, selection) or self._compiles(query, as_of, role)
        if problem is not None:
            return problem
        text = time_text(query, language, unit)  # type: ignore[arg-type]
        if intent == "why":
            why = WhyRequest(metric=metrics[0], time_range=time_range, comparison=comparison or "previous_period",
                             filters=tuple(filters), time_defaulted=bool(notes))
            return LLMPlan(intent="why", language=language, query=query, why_request=why,  # type: ignore[arg-type]
                           time_text=text, notes=tuple(notes))
        return LLMPlan(intent="query", language=language, query=query, time_text=text,  # type: ignore[arg-type]
                       notes=tuple(notes))

    def _resolve_names(self, args: dict[str, Any], selection: Selection, language: str = "zh") -> Any:
        unknown: list[str] = []
        hints: list[str] = []

        def metric(name: Any) -> str:
            found = self.catalog.get_metric(str(name)) or self.catalog.find_metric(str(name))
            if found is None:
                unknown.append(f"unknown metric {name}")
                hints.append(f"candidates for {name}: {self._candidates(str(name), 'metric', selection)}")
                return str(name)
            return found.name

        def dimension(name: Any) -> str:
            found = self.catalog.get_dimension(str(name)) or self.catalog.find_dimension(str(name))
            if found is None:
                unknown.append(f"unknown dimension {name}")
                hints.append(f"candidates for {name}: {self._candidates(str(name), 'dimension', selection)}")
                return str(name)
            return found.name

        raw_metrics = args.get("metrics")
        if isinstance(raw_metrics, str):
            raw_metrics = [raw_metrics]
        if not isinstance(raw_metrics, list) or not raw_metrics:
            return Problem("args", "plan_query needs at least one metric",
                           f"metrics you may use: {', '.join(selection.metrics[:8])}")
        metrics = list(dict.fromkeys(metric(m) for m in raw_metrics))
        raw_dims = args.get("dimensions") or []
        dims = list(dict.fromkeys(dimension(d) for d in (raw_dims if isinstance(raw_dims, list) else [raw_dims])))
        filters: list[Filter] = []
        for item in args.get("filters") or []:
            if not isinstance(item, dict) or "dimension" not in item:
                return Problem("args", "each filter needs a dimension, an op and a value", "")
            value = item.get("value")
            op = item.get("op") or ("in" if isinstance(value, list) else "eq")
            if op == "eq" and isinstance(value, list):
                op = "in"
            try:
                filters.append(Filter(dimension=dimension(item["dimension"]), op=cast(FilterOp, op), value=value))
            except ValidationError as exc:
                return Problem("args", f"invalid filter {item}", _cap(exc.errors()[0]["msg"], 200))
        having: list[MetricFilter] = []
        for item in args.get("having") or []:
            if isinstance(item, dict) and "metric" in item:
                try:
                    having.append(MetricFilter(**{**item, "metric": metric(item["metric"])}))
                except (ValidationError, TypeError) as exc:
                    return Problem("args", f"invalid having {item}", _cap(str(exc), 200))
        time_dim = args.get("time_dimension")
        time_dim = dimension(time_dim) if time_dim else None
        share_part: Filter | None = None
        raw_part = args.get("share_part")
        if raw_part:
            if not isinstance(raw_part, dict) or "dimension" not in raw_part or raw_part.get("value") in (None, "", []):
                return Problem("args", "share_part must be an object with a dimension and a value",
                               'e.g. {"dimension": "gender", "value": "女"}: the part of the whole')
            value = raw_part["value"]
            op = raw_part.get("op") or ("in" if isinstance(value, list) else "eq")
            if op not in ("eq", "in"):
                return Problem("args", "share_part op must be eq or in", "")
            try:
                share_part = Filter(dimension=dimension(raw_part["dimension"]), op=cast(FilterOp, op), value=value)
            except ValidationError as exc:
                return Problem("args", f"invalid share_part {raw_part}", _cap(exc.errors()[0]["msg"], 200))
        count_as = metric(args["count_as"]) if args.get("count_as") else None
        if unknown:
            return Problem("names", "; ".join(unknown), "\n".join(hints))
        checked = self._values([*filters, *([share_part] if share_part else [])], language)
        if isinstance(checked, Problem):
            return checked
        filters = checked[: len(filters)]
        share_part = checked[-1] if share_part is not None else None
        return metrics, dims, filters, having, time_dim, share_part, count_as

    def _values(self, filters: list[Filter], language: str) -> list[Filter] | Problem:
        """Each filter's text values, checked against the dimension's values when all of them
        are known: an English label or another letter case is mapped to the value; an unknown
        value is sent back with the real ones (and asked about if the model insists)."""
        out: list[Filter] = []
        for f in filters:
            known = self.values.get(f.dimension) or []
            dim = self.catalog.get_dimension(f.dimension)
            if (f.op not in ("eq", "in", "ne", "not_in") or not known or len(known) >= _COMPLETE_VALUES
                    or dim is None or dim.type != "categorical" or dim.data_type not in (None, "string")):
                out.append(f)
                continue
            folded = {v.casefold(): v for v in known}
            folded.update({str(label).casefold(): raw for raw, label in (dim.value_labels_en or {}).items()
                           if raw in known})
            items = f.value if isinstance(f.value, list) else [f.value]
            mapped: list[Any] = []
            for item in items:
                hit = folded.get(str(item).strip().casefold()) if isinstance(item, str) else item
                if hit is None:
                    close = difflib.get_close_matches(str(item), known, n=6, cutoff=0.3) or known[:6]
                    label = dim.label if language == "zh" else (dim.label_en or f.dimension)
                    shown = messages.join([str(c) for c in close], language)
                    return Problem("value", f"unknown value {item!r} for dimension {f.dimension}",
                                   f"values of {f.dimension}: {', '.join(known[:20])}",
                                   user_message=messages.text("unknown_word", language, term=_shown(item, 40) or "?",
                                                              candidates=f"{label}：{shown}" if language == "zh"
                                                              else f"{label}: {shown}"))
                mapped.append(hit)
            value = mapped if isinstance(f.value, list) else mapped[0]
            out.append(f if value == f.value else f.model_copy(update={"value": value}))
        return out

    def _candidates(self, name: str, kind: str, selection: Selection) -> str:
        pool = self.catalog.metric_names if kind == "metric" else self.catalog.dimension_names
        words = {normal: target for normal, (k, target) in self.catalog.terms().items() if k == kind}
        close = [words[w] for w in difflib.get_close_matches(name.casefold(), list(words), n=4, cutoff=0.5)]
        listed = selection.metrics if kind == "metric" else selection.dimensions
        picked = list(dict.fromkeys([*close, *listed]))[:6] or pool[:6]
        get = self.catalog.get_metric if kind == "metric" else self.catalog.get_dimension
        return ", ".join(f"{n} ({get(n).label})" for n in picked if get(n) is not None)  # type: ignore[union-attr]

    @staticmethod
    def _time(args: dict[str, Any], as_of: date) -> Any:
        """(range, comparison, unit) from the time words (preferred) or the explicit dates."""
        words = str(args.get("time_words") or "").strip()
        comparison = args.get("comparison") or None
        parsed = parse_time(words, as_of) if words else None
        unit: Grain | None = parsed.grain if parsed is not None else None
        if parsed is not None:
            comparison = comparison or parsed.comparison
            if parsed.range is not None:
                return parsed.range, comparison, parsed.grain
        start, end = args.get("start_date"), args.get("end_date")
        if start or end:
            try:
                first = date.fromisoformat(str(start or end))
                last = date.fromisoformat(str(end or start))
            except ValueError:
                return Problem("time", f"dates {start!r}..{end!r} are not YYYY-MM-DD", "")
            if first > last:
                return Problem("time", f"start_date {first} is after end_date {last}", "")
            return TimeRange(start=first, end=last, label=words or None), comparison, unit
        if words and parsed is None:
            return Problem("time", f"time words {words!r} were not understood",
                           "copy the question's time words exactly, or give start_date and end_date (YYYY-MM-DD)")
        return None, comparison, unit

    def _compatibility(self, query: SemanticQuery, selection: Selection) -> Problem | None:
        used = [*query.dimensions, *(f.dimension for f in query.filters)]
        if query.time_dimension:
            used.append(query.time_dimension)
        for metric in query.metrics:
            for dim in dict.fromkeys(used):
                if not self._can_use(metric, dim):
                    own = [d.name for name in self.catalog.models_for(metric)[:2]
                           for d in self.layer.model(name).dimensions if not d.pii]
                    usable = [d for d in dict.fromkeys([*selection.dimensions, *own])
                              if d != dim and self._can_use(metric, d)]
                    hint = (f"dimensions {metric} can use: {', '.join(usable[:10])}" if usable
                            else "choose another dimension, another metric, or ask_clarification")
                    return Problem("names", f"metric {metric} cannot be broken down or filtered by {dim}", hint)
        return None

    def _can_use(self, metric: str, dim: str) -> bool:
        """Every measure of ``metric`` reaches ``dim`` (``Catalog.dimensions_for``, for one dimension:
        checking only the names used keeps this fast on very large layers)."""
        measures = self.catalog.measures_for(metric)
        return bool(measures) and all(
            any(self.catalog.graph.resolve(model.name, dim) is not None
                for model in self.layer.models_with_measure(measure))
            for measure in measures
        )

    def _compiles(self, query: SemanticQuery, as_of: date, role: Role) -> Problem | None:
        try:
            compiled = compile_query(query, self.layer, as_of=as_of, dialect=dialect_of(self.executor))
        except CompileError as exc:
            return Problem("compile", "the semantic query cannot be compiled", _cap(exc.message, _HINT_CHARS))
        except (ValueError, KeyError) as exc:
            return Problem("compile", "the semantic query cannot be compiled", _cap(str(exc), _HINT_CHARS))
        try:
            guard_sql(compiled.sql, self.policy, role, **guard_options(self.executor))
        except GuardError as exc:
            return Problem("guard", f"the access guard refused this query for role {role}",
                           _cap(exc.message, _HINT_CHARS), user_message=exc.message)
        return None

    @staticmethod
    def _copy(args: dict[str, Any], filters: list[Filter], language: str) -> Plan:
        spec: dict[str, Any] = args["copy"] if isinstance(args.get("copy"), dict) else {}
        channel = cast(CopyChannel, spec.get("channel") if spec.get("channel") in _COPY_CHANNELS else "sms")
        try:
            count = max(1, min(10, int(spec.get("count") or 3)))
        except (TypeError, ValueError):
            count = 3
        request = CopyRequest(filters=tuple(filters), channel=channel, count=count,
                              segment_label=_shown(spec.get("segment"), 60), topic=_shown(spec.get("topic"), 60) or None)
        return LLMPlan(intent="copy", language=language, copy_request=request)  # type: ignore[arg-type]

    # ------------------------------------------------------------------ write_sql
    def _write_sql(self, args: dict[str, Any], *, role: Role, language: str) -> Plan | Problem:
        sql = str(args.get("sql") or "").strip()
        if not sql:
            return Problem("args", "write_sql needs the SQL text", "")
        try:
            # DuckDB SQL (prompts/plan_system.md), written by the guard for the engine
            guarded = guard_sql(sql, self.policy, role, **guard_options(self.executor, read="duckdb"))
        except GuardError as exc:
            return Problem("guard", f"the access guard refused this SQL for role {role}",
                           _cap(exc.message, _HINT_CHARS), user_message=exc.message)
        problem = self._dry_run(guarded.sql, role)
        if problem is not None:
            return problem
        note = ("该问题无法用语义层表达，SQL 由模型编写并已通过安全检查。" if language == "zh"
                else "The semantic layer cannot express this question; the model wrote SQL that passed the guard.")
        return LLMPlan(intent="query", language=language, sql=sql, notes=(note,))  # type: ignore[arg-type]

    def _dry_run(self, sql: str, role: Role) -> Problem | None:
        """Let DuckDB bind the guarded SQL without reading rows (``LIMIT 0``)."""
        if self.executor is None:
            return None
        try:
            self.executor.run(f"SELECT * FROM ({sql}) AS llm_check LIMIT 0", max_rows=0)
        except UserInputError as exc:
            detail = ("the query failed; check the column types and the SQL" if role.is_merchant
                      else _cap(exc.message, _HINT_CHARS))
            return Problem("sql_error", "DuckDB could not run this SQL", detail)
        except ChatBIError:
            return None  # warehouse trouble is reported when the pipeline runs the query
        return None


def _order_by(raw: Any) -> list[OrderBy]:
    """``order_by`` items: objects with ``field`` (and ``descending``), or bare field names."""
    items: Sequence[Any] = raw if isinstance(raw, list) else ([raw] if raw else [])
    out = []
    for item in items:
        if isinstance(item, str):
            out.append(OrderBy(field=item, descending=True))
        elif isinstance(item, dict) and item.get("field"):
            out.append(OrderBy(field=str(item["field"]), descending=bool(item.get("descending", True))))
    return out
