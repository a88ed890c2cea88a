"""What the model sees: the top retrieved definitions, values and examples, never the schema.

``ContextBuilder.build(question, ...)`` selects, for one question,

* metrics, dimensions and dimension values: from the ``Retriever`` when one is given, plus
  exact catalog matches in the question (so a named metric is never missed), plus the names
  the previous turn used (follow-ups);
* worked examples (question → plan_query arguments): ``Retriever.examples`` or, without a
  retriever, the examples with the most character bigrams in common with the question;
* the tables and role-visible columns behind them (for ``write_sql``);
* the concepts the data does not hold (the layer's ``not_in_data``: a few words of each,
  the ones the question says first), so the model refuses them;
* the turns of the conversation the planner passes (``llm_rules.LLMRules.model_view``: the
  turn a follow-up changes); a failed or refused turn is never shown, a clarifying question
  only as the newest turn (the question may answer it);

and renders ``prompts/plan_system.md`` and ``prompts/plan_context.md``. Every list has a cap
and the whole request (messages + tool schemas) is shrunk until its conservative token
estimate is under ``budget``: the prompt size does not grow with the semantic layer.
User text and data are fenced and cannot close their fence (``<``/``>`` are replaced).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, Protocol

from chatbi.planner.context import Conversation
from chatbi.planner.types import Plan
from chatbi.prompts import render
from chatbi.semantic.catalog import Catalog
from chatbi.semantic.query import SemanticQuery
from chatbi.semantic.validation import normalize_term
from chatbi.sql.policy import AccessPolicy, Role

log = logging.getLogger(__name__)

__all__ = ["ContextBuilder", "Prompt", "Selection", "estimate_tokens", "query_args"]

TOKEN_BUDGET = 3000  # first request; repairs add a little, the hard limit is 4,000
MAX_METRICS, MAX_DIMENSIONS, MAX_VALUES, MAX_EXAMPLES = 8, 12, 12, 3
MAX_TABLES, MAX_COLUMNS, MAX_TURNS, MAX_SAMPLE_DIMS, MAX_SAMPLES = 3, 24, 3, 6, 6
MAX_QUESTION_CHARS = 500
MAX_CONCEPTS, MAX_CONCEPT_WORDS = 10, 3  # not_in_data concepts listed, words the question said shown per concept
_LINE = 110  # characters of a definition shown


class RetrieverLike(Protocol):
    """What the planner needs from ``chatbi.retrieval.Retriever``."""

    def search(self, question: str, *, k: int = 8, kinds: Any = None) -> list[Any]: ...

    def examples(self, question: str, *, k: int = 3) -> list[Any]: ...


def estimate_tokens(text: str) -> int:
    """Conservative token count without a tokenizer: 1 per non-ASCII character, 1 per 3 others."""
    wide = sum(1 for ch in text if ord(ch) > 127)
    return wide + -(-(len(text) - wide) // 3)


def untrusted(text: Any, limit: int) -> str:
    """User or data text for the prompt: one line, capped, unable to open or close a fence."""
    clean = " ".join(str(text).split())
    clean = clean.replace("<", "‹").replace(">", "›")
    return clean if len(clean) <= limit else clean[: limit - 1] + "…"


def query_args(query: SemanticQuery | dict[str, Any], intent: str = "query") -> dict[str, Any]:
    """A SemanticQuery as plan_query arguments (time range as its words when labelled)."""
    data = query.model_dump(mode="json", exclude_defaults=True) if isinstance(query, SemanticQuery) else dict(query)
    out: dict[str, Any] = {"intent": intent}
    for key, value in data.items():
        if key == "time_range" and isinstance(value, dict):
            if value.get("label"):
                out["time_words"] = value["label"]
            else:
                out["start_date"], out["end_date"] = str(value.get("start")), str(value.get("end"))
        elif value not in (None, [], False):
            out[key] = value
    return out


def _compact(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"), default=str)


def _bigrams(text: str) -> set[str]:
    norm = normalize_term(text)
    return {norm[i : i + 2] for i in range(len(norm) - 1)}


@dataclass
class Selection:
    """The names and texts chosen for one question (mutable while the budget is enforced)."""

    metrics: list[str] = field(default_factory=list)
    dimensions: list[str] = field(default_factory=list)
    values: list[tuple[str, str]] = field(default_factory=list)  # (dimension, value)
    samples: dict[str, list[str]] = field(default_factory=dict)  # dimension -> a few values
    examples: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    tables: list[tuple[str, list[str]]] = field(default_factory=list)
    turns: list[str] = field(default_factory=list)
    concepts: list[str] = field(default_factory=list)  # not_in_data lines, those the question names first
    question: str = ""


@dataclass(frozen=True)
class Prompt:
    """The rendered messages, what they were built from, and their size."""

    system: str
    user: str
    selection: Selection
    tokens: int
    chars: int


class ContextBuilder:
    """Builds the planner prompt for one semantic layer; safe to share between threads."""

    def __init__(self, catalog: Catalog, policy: AccessPolicy, *, prompts_dir: Path | None,
                 retriever: RetrieverLike | None = None, values: Mapping[str, Sequence[str]] | None = None,
                 examples: Sequence[tuple[str, dict[str, Any]]] = (), tools_json: str = "",
                 budget: int = TOKEN_BUDGET):
        self.catalog = catalog
        self.policy = policy
        self.prompts_dir = prompts_dir
        self.retriever = retriever
        self.values = {str(k): [str(v) for v in vs] for k, vs in (values or {}).items()}
        self.examples = list(examples)
        self.tools_json = tools_json
        self.budget = budget
        self._terms = sorted(((t, kind, name) for t, (kind, name) in catalog.terms().items() if len(t) >= 2),
                             key=lambda item: -len(item[0]))
        self._example_grams = [(_bigrams(q), q, sq) for q, sq in self.examples]

    # ------------------------------------------------------------------ selection
    def select(self, question: str, *, role: Role, conversation: Conversation | None) -> Selection:
        sel = Selection(question=untrusted(question, MAX_QUESTION_CHARS))
        previous = conversation.last_answerable() if conversation is not None else None
        self._exact(question, sel)
        pending = _pending_clarification(conversation)
        if pending is not None:  # the question answers a clarifying question: its names count too
            self._exact(pending.question, sel)
        if self.retriever is not None:
            try:
                self._retrieved(question, sel)
            except Exception as exc:  # noqa: BLE001 - retrieval is an aid: degrade to exact matches
                log.warning("retrieval failed, using exact matches only: %s", exc)
        if not sel.examples:
            sel.examples = self._similar_examples(question)
        if previous is not None and previous.query is not None:
            _add(sel.metrics, previous.query.metrics)
            _add(sel.dimensions, [*previous.query.dimensions, *(f.dimension for f in previous.query.filters)])
        if not sel.metrics:
            _add(sel.metrics, self.catalog.metric_names[:5])
        _add(sel.dimensions, [d for d, _ in sel.values])
        hidden = self._hidden_dimensions(role)
        sel.metrics = [m for m in sel.metrics if self.catalog.get_metric(m)][:MAX_METRICS]
        sel.dimensions = [d for d in sel.dimensions if self.catalog.get_dimension(d) and d not in hidden][:MAX_DIMENSIONS]
        sel.values = [(d, v) for d, v in sel.values if d not in hidden][:MAX_VALUES]
        matched = {d for d, _ in sel.values}
        for dim in sel.dimensions:
            if dim not in matched and self.values.get(dim) and len(sel.samples) < MAX_SAMPLE_DIMS:
                sel.samples[dim] = self.values[dim][:MAX_SAMPLES]
        sel.tables = self._tables(sel, role)
        sel.turns = self._turns(conversation)
        sel.concepts = self._concepts(question)
        return sel

    def _concepts(self, question: str) -> list[str]:
        """The layer's not_in_data concepts (name and labels: a few tokens each); those whose
        word the question says come first, with that word."""
        norm = normalize_term(question)
        said: list[str] = []
        other: list[str] = []
        for concept in self.catalog.layer.not_in_data[:MAX_CONCEPTS]:
            hits = [w for w in concept.words if normalize_term(w) and normalize_term(w) in norm][:MAX_CONCEPT_WORDS]
            line = f"- {concept.name} | {concept.label}/{concept.label_en}"
            if hits:
                said.append(f"{line} | said: {', '.join(untrusted(w, 20) for w in hits)}")
            else:
                other.append(line)
        return said + other

    def _exact(self, question: str, sel: Selection) -> None:
        norm = normalize_term(question)
        taken: list[tuple[int, int]] = []
        for term, kind, name in self._terms:  # longest first: 复购率 before 复购
            start = norm.find(term)
            if start < 0 or any(s <= start < e for s, e in taken):
                continue
            taken.append((start, start + len(term)))
            _add(sel.metrics if kind == "metric" else sel.dimensions, [name])
        for dim, values in self.values.items():
            for value in values:
                key = normalize_term(value)
                if len(key) >= 2 and key in norm:
                    sel.values.append((dim, value))

    def _retrieved(self, question: str, sel: Selection) -> None:
        assert self.retriever is not None
        for hit in self.retriever.search(question, k=20, kinds=("metric", "dimension", "value")):
            if hit.kind == "metric":
                _add(sel.metrics, [hit.name])
            elif hit.kind == "dimension":
                _add(sel.dimensions, [hit.name])
            elif hit.kind == "value":
                pair = (str(hit.payload.get("dimension")), str(hit.payload.get("value", hit.name)))
                if pair not in sel.values:
                    sel.values.append(pair)
        for hit in self.retriever.examples(question, k=MAX_EXAMPLES):
            query = hit.payload.get("semantic_query")
            if isinstance(query, dict):
                sel.examples.append((str(hit.payload.get("question", hit.name)), query))

    def _similar_examples(self, question: str) -> list[tuple[str, dict[str, Any]]]:
        grams = _bigrams(question)
        if not grams:
            return []
        scored = [(len(grams & g) / len(grams | g), q, sq) for g, q, sq in self._example_grams if g]
        scored = [s for s in scored if s[0] > 0.08]
        scored.sort(key=lambda s: -s[0])
        return [(q, sq) for _, q, sq in scored[:2]]

    def _hidden_dimensions(self, role: Role) -> set[str]:
        if role.can_see_pii:
            return set()
        return {d.name for _, d in self.catalog.layer.all_dimensions() if d.pii}

    def _tables(self, sel: Selection, role: Role) -> list[tuple[str, list[str]]]:
        from chatbi.sql.access import column_order, merchant_links

        names: list[str] = []
        for metric in sel.metrics:
            for model_name in self.catalog.models_for(metric)[:1]:
                _add(names, [self.catalog.layer.model(model_name).table or ""])
        for dim in sel.dimensions:
            _add(names, [self.catalog.dimension_model(dim).table or ""])
        links = merchant_links(self.policy) if role.is_merchant else {}
        out: list[tuple[str, list[str]]] = []
        for table in names:
            if not table or table not in self.policy.tables:
                continue
            if role.is_merchant and table not in self.policy.security_columns and table not in links:
                continue
            visible = set(self.policy.tables[table])
            if not role.can_see_pii:
                visible -= set(self.policy.pii.get(table, ()))
            out.append((table, column_order(table, frozenset(visible))[:MAX_COLUMNS]))
            if len(out) >= MAX_TABLES:
                break
        return out

    def _turns(self, conversation: Conversation | None) -> list[str]:
        """The turns shown: never a failed or refused turn (nothing of them carries forward),
        a clarifying question only when it is the newest turn (this question may answer it)."""
        if conversation is None:
            return []
        turns = conversation.turns
        lines = []
        for i, turn in enumerate(turns):
            if turn.failed or turn.plan.intent == "refuse":
                continue
            if turn.plan.intent == "clarify":
                if i != len(turns) - 1:
                    continue
                lines.append(f"Q: {untrusted(turn.question, 200)}\nA: ask_clarification "
                             "(the new question may answer it)")
                continue
            answer = _plan_text(turn.plan) if turn.relation is None else _relation_text(turn.relation)
            lines.append(f"Q: {untrusted(turn.question, 200)}\nA: {answer}")
        return lines[-MAX_TURNS:]

    # ------------------------------------------------------------------ rendering
    def build(self, question: str, *, as_of: date, role: Role, conversation: Conversation | None,
              language: str) -> Prompt:
        """The prompt for one question, shrunk until it fits the token budget."""
        sel = self.select(question, role=role, conversation=conversation)
        system = render("plan_system", self.prompts_dir, as_of=as_of.isoformat(), role=str(role))
        while True:
            user = self._render_user(sel, as_of=as_of, role=role, language=language)
            chars = len(system) + len(user) + len(self.tools_json)
            tokens = estimate_tokens(system) + estimate_tokens(user) + estimate_tokens(self.tools_json)
            if tokens <= self.budget or not self._shrink(sel):
                return Prompt(system, user, sel, tokens, chars)

    def _render_user(self, sel: Selection, *, as_of: date, role: Role, language: str) -> str:
        return render(
            "plan_context", self.prompts_dir,
            as_of=as_of.isoformat(), role=str(role), language=language,
            metrics=_lines([self._metric_line(m) for m in sel.metrics]),
            dimensions=_lines([self._dimension_line(d) for d in sel.dimensions]),
            tables=_lines([f"- {t}({', '.join(cols)})" for t, cols in sel.tables]),
            examples=_lines([f"Q: {untrusted(q, 120)}\nA: plan_query {untrusted(_compact(query_args(sq)), 400)}"
                             for q, sq in sel.examples]),
            values=_lines([f"- {d} = {untrusted(v, 60)}" for d, v in sel.values]
                          + [f"- {d}: {' | '.join(untrusted(v, 60) for v in vs)}" for d, vs in sel.samples.items()]),
            conversation=_lines(sel.turns),
            not_in_data=_lines(sel.concepts),
            question=sel.question,
        )

    def _metric_line(self, name: str) -> str:
        metric = self.catalog.metric(name)
        label = metric.label + (f"/{metric.label_en}" if metric.label_en and metric.label_en != metric.label else "")
        text = " ".join(metric.description.split())
        text = text if len(text) <= _LINE else text[: _LINE - 1] + "…"
        return f"- {name} | {label} | {text}"

    def _dimension_line(self, name: str) -> str:
        dim = self.catalog.dimension(name)
        label = dim.label + (f"/{dim.label_en}" if dim.label_en and dim.label_en != dim.label else "")
        kind = dim.type + (" (tag: use op has_tag)" if dim.type == "tag" else "")
        return f"- {name} | {label} | {kind}"

    @staticmethod
    def _shrink(sel: Selection) -> bool:
        """Drop the least useful item; False when nothing is left to drop."""
        steps: list[tuple[Callable[[], bool], Callable[[], object]]] = [
            (lambda: len(sel.concepts) > 3, lambda: sel.concepts.pop()),
            (lambda: len(sel.examples) > 1, lambda: sel.examples.pop()),
            (lambda: bool(sel.samples), lambda: sel.samples.popitem()),
            (lambda: len(sel.tables) > 1, lambda: sel.tables.pop()),
            (lambda: len(sel.turns) > 1, lambda: sel.turns.pop(0)),
            (lambda: len(sel.values) > 4, lambda: sel.values.pop()),
            (lambda: len(sel.dimensions) > 6, lambda: sel.dimensions.pop()),
            (lambda: len(sel.metrics) > 4, lambda: sel.metrics.pop()),
            (lambda: bool(sel.examples), lambda: sel.examples.pop()),
            (lambda: bool(sel.tables) and len(sel.tables[0][1]) > 8,
             lambda: sel.tables.__setitem__(0, (sel.tables[0][0], sel.tables[0][1][:8]))),
            (lambda: len(sel.question) > 200, lambda: setattr(sel, "question", sel.question[:200])),
        ]
        for possible, drop in steps:
            if possible():
                drop()
                return True
        return False


def _add(target: list[str], names: Sequence[str]) -> None:
    for name in names:
        if name and name not in target:
            target.append(name)


def _lines(lines: Sequence[str]) -> str:
    return "\n".join(lines) if lines else "(none)"


def _pending_clarification(conversation: Conversation | None) -> Any:
    """The newest turn when it is a clarifying question (the new question may answer it)."""
    last = conversation.last_turn if conversation is not None else None
    return last if last is not None and last.plan.intent == "clarify" and not last.failed else None


def _relation_text(request: Any) -> str:
    """A turn answered by the relationship analysis (funnel, graph, KOL…), not by a plan."""
    return f"answered by the relationship analysis ({getattr(request, 'kind', 'relation')}); no semantic query to change"


def _plan_text(plan: Plan) -> str:
    """A previous turn's plan as the model would have written it."""
    sql = getattr(plan, "sql", None)
    if sql:
        return f"write_sql {untrusted(sql, 300)}"
    if plan.intent in ("clarify", "refuse"):
        word = "ask_clarification" if plan.intent == "clarify" else "refuse"
        return f"{word} {untrusted(plan.message or '', 160)}"
    if plan.intent == "definition":
        return f"plan_query {_compact({'intent': 'definition', 'metrics': list(plan.definitions)})}"
    if plan.query is not None:
        return f"plan_query {untrusted(_compact(query_args(plan.query, plan.intent)), 400)}"
    return plan.intent

