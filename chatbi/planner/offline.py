"""The offline planner: deterministic Chinese/English understanding, no API key.

``OfflinePlanner(layer, values).plan(question, as_of=..., conversation=...)`` returns a
``Plan``. Everything it knows about metrics and dimensions comes from the semantic layer
and the dimension values; the lexicon, regexes and compatibility map are built once in
``__init__`` so planning a question takes a few milliseconds.

Routing order: empty → refuse (SQL, data change, prompt injection, personal data) →
follow-up of the previous turn → answer to a clarifying question → definition → copy →
why → query.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import date
from typing import Any

from chatbi.planner import intents, messages
from chatbi.planner.build import (
    Env,
    build_query,
    clarify_metric,
    count_metric,
    describe_metrics,
    dimension_exists,
    first_metric,
    incompatible,
    incompatible_plan,
    looks_like_gibberish,
    metric_label,
    resolve_values,
    time_text,
    unknown_metric_plan,
)
from chatbi.planner.compat import Compatibility
from chatbi.planner.context import Conversation
from chatbi.planner.followup import (
    apply_followup,
    is_followup,
    looks_like_followup,
    refers_back_to_earlier,
)
from chatbi.planner.interpretation import interpret
from chatbi.planner.lexicon import Lexicon
from chatbi.planner.merchant_names import shop_reply, which_shop_plan, without_shop_words
from chatbi.planner.numbers import to_int
from chatbi.planner.shorthand import expand_shorthand
from chatbi.planner.snapshots import SnapshotMetrics
from chatbi.planner.text import language_of, normalize
from chatbi.planner.time_parser import latest_complete_month
from chatbi.planner.types import Cohort, CopyRequest, Plan, WhyRequest
from chatbi.planner.understand import Understanding, understand
from chatbi.planner.unknown import NearMatch, NearMatcher, not_in_data
from chatbi.semantic.models import SemanticLayer
from chatbi.semantic.query import MetricFilter, SemanticQuery

_MAX_QUESTION = 500
_ALL_USERS = re.compile(r"所有用户|全部用户|全体用户|全量用户|\ball (?:users|customers)\b|\beveryone\b")
_NEW_USER_METRICS = ("new_users", "new_buyers")
_NEW_USER_WORDS = re.compile(r"新用户|新客|新注册|新增用户|新买家|\bnew[- ](?:users?|customers?|buyers?|sign-?ups?)\b", re.ASCII)
_SEGMENT_TAIL = re.compile(r"^[的\s]*(?:用户|客户|买家|会员|人群|群体|users?|customers?|buyers?|shoppers?)")


class OfflinePlanner:
    """Plans questions with rules built from a semantic layer and its dimension values."""

    name = "offline"

    def __init__(self, layer: SemanticLayer, values: Mapping[str, Sequence[Any]] | None = None):
        self.layer = layer
        self.lexicon = Lexicon(layer, values)
        self.compat = Compatibility(layer)
        self._user_dims = self.compat.entity_dimensions("user")
        self.near = NearMatcher(self.lexicon)
        self.snapshots = SnapshotMetrics(layer)
        for metric in layer.metrics:  # warm the compatibility cache
            self.compat.dimensions_for(metric.name)

    # ------------------------------------------------------------------ entry point
    def plan(self, question: str, *, as_of: date, conversation: Conversation | None = None,
             role: Any = None) -> Plan:
        """Plan one question; records the turn in ``conversation`` when given. ``role`` tells
        whose "我们店 / my shop" is meant (a merchant role's own; others must name one)."""
        u: Understanding | None = None
        previous = conversation.last_answerable() if conversation is not None else None
        plan = self._refusal_or_empty(question)
        if plan is None:
            text, shorthand = expand_shorthand(question[:_MAX_QUESTION])
            fresh = intents.NEW_SUBJECT.match(text)
            if fresh and text[fresh.end():].strip():  # ok new topic - … / 另外问下 …: nothing is carried over
                text, previous = text[fresh.end():], None
            u = understand(text, as_of, self.lexicon)
            u.shorthand = shorthand
            plan, read = self._plan(u, as_of, None if fresh else conversation)
            plan = _whose_shop(plan, read, role)
            plan = _shape_matches_the_ask(plan, read)
            plan = replace(plan, interpretation=interpret(plan, self.layer, understanding=read, previous=previous))
        if conversation is not None:
            pending = u if plan.intent == "clarify" and u is not None else None
            conversation.add(question, plan, pending)
        return plan

    def is_followup_text(self, question: str, *, as_of: date) -> bool:
        """Is ``question`` shaped as a follow-up of an earlier answer (那…呢, 按地区呢, and by
        region?) rather than a complete question of its own?"""
        if self._refusal_or_empty(question) is not None:
            return False
        return looks_like_followup(understand(expand_shorthand(question[:_MAX_QUESTION])[0], as_of, self.lexicon))

    # ------------------------------------------------------------------ routing
    def _refusal_or_empty(self, question: str) -> Plan | None:
        lang = language_of(question)
        text = question.strip()
        if not text:
            return Plan(intent="clarify", language=lang, message=messages.text("empty", lang))  # type: ignore[arg-type]
        norm = normalize(text)
        checks = (
            (intents.SQL_TEXT, "refuse_sql"),
            (intents.DATA_CHANGE, "refuse_data_change"),
            ([intents.INJECTION], "refuse_injection"),
            ([intents.ROLE_CLAIM], "refuse_role_claim"),
            ([intents.PII], "refuse_pii"),
        )
        for patterns, key in checks:
            if any(p.search(norm) for p in patterns):
                return Plan(intent="refuse", language=lang, message=messages.text(key, lang))  # type: ignore[arg-type]
        return None

    def _plan(self, u: Understanding, as_of: date, conversation: Conversation | None) -> tuple[Plan, Understanding]:
        """The plan, and the understanding it was made from (typos and homophones read as
        their near matches)."""
        if u.pii_dims:
            return Plan(intent="refuse", language=u.language, message=messages.text("refuse_pii", u.language)), u
        completed = shop_reply(conversation.last_turn if conversation is not None else None, u)
        if completed is not None:  # "店铺id是179" after "which shop?": the question asked, for that shop
            return self._plan(understand(completed, as_of, self.lexicon), as_of, None)
        if u.shop_choices is not None:  # 拾光古着店: two shops have that name, ask which
            return which_shop_plan(u), u
        accounted = self._account_for_words(u, as_of)
        if isinstance(accounted, Plan):
            return accounted, u
        return self._route(accounted, as_of, conversation), accounted

    def _route(self, u: Understanding, as_of: date, conversation: Conversation | None) -> Plan:
        env = Env(self.layer, self.lexicon, self.compat, as_of, self.snapshots)
        previous_turn = conversation.last_answerable_turn() if conversation is not None else None
        seen = without_shop_words(u)  # 179这家店 names the shop, it does not point back
        refers_back = refers_back_to_earlier(seen)
        if previous_turn is None and refers_back and conversation is not None:
            previous_turn = conversation.last_answered_before_clarifications()
            if previous_turn is None:  # 他们/them with nothing answered to point at: ask who
                return Plan(intent="clarify", language=u.language, message=messages.text("refers_to_nothing", u.language))
        previous = previous_turn.plan if previous_turn is not None else None
        last = conversation.last_turn if conversation is not None else None
        if last is not None and last.plan.intent == "clarify" and isinstance(last.pending, Understanding) and not refers_back:
            merged = _complete_pending(last.pending, u)
            if merged is not None:
                u = merged
        elif last is not None and last.plan.intent == "definition" and is_followup(u, last.plan):
            return apply_followup(env, u, last.plan)  # 复购率怎么算 → 那客单价呢: another definition
        elif previous is not None and previous_turn is not None and is_followup(seen, previous):
            return apply_followup(env, u, previous, shown=previous_turn.shown_keys)

        if not u.recognised:
            term = u.residue.strip()
            if looks_like_gibberish(term) or len(term) > 20:
                return Plan(intent="clarify", language=u.language, message=messages.text("gibberish", u.language))
            return unknown_metric_plan(env, u, term)
        if self._is_definition(u):
            return self._definition(env, u)
        if u.copy:
            return self._copy(env, u, previous if refers_back else None)
        if u.why:
            return self._why(env, u, as_of)
        return self._query(env, u)

    def _account_for_words(self, u: Understanding, as_of: date) -> Understanding | Plan:
        """Every word accounted for: a period after the data is refused, a concept the data
        does not hold is refused with what exists, an unknown word is read as its near match
        (and the reading is stated) or asked about. Copy topics are free text and skipped."""
        lang = u.language
        time_range = u.time.range if u.time else None
        if time_range is not None and time_range.start > as_of:
            label = time_range.label or f"{time_range.start.isoformat()} – {time_range.end.isoformat()}"
            return Plan(intent="refuse", language=lang,
                        message=messages.text("future_range", lang, label=label, as_of=as_of.isoformat()))
        if u.other_periods and time_range is not None:
            other = u.other_periods[0]
            return Plan(intent="clarify", language=lang, message=messages.text(
                "two_periods", lang, first=time_range.label or time_range.start.isoformat(),
                second=other.label or other.start.isoformat()))
        if u.copy:
            return u
        concept = not_in_data(self.layer, u.residual)
        if concept is not None:
            found, word = concept
            return Plan(intent="refuse", language=lang, message=messages.text(
                "not_in_data", lang, label=found.label if lang == "zh" else found.label_en, term=word,
                instead=(found.instead if lang == "zh" else found.instead_en) or "-"))
        if u.unparsed_time:  # 开年以来 / the last few weeks: never silently all dates
            return Plan(intent="clarify", language=lang, message=messages.text(
                "unparsed_time", lang, term=messages.join(list(dict.fromkeys(u.unparsed_time))[:3], lang)))
        said = {w for m in u.metrics for surface in self.lexicon.metric_surfaces.get(m, []) for w in surface.split()}
        u.unknowns = [x for x in u.unknowns if normalize(x.text) not in said]  # "new users signed up": new is the metric's
        if not u.unknowns:
            return u
        near = [self.near.resolve(x) for x in u.unknowns]
        if all(near):
            again = understand(_substitute(u.question, near), as_of, self.lexicon)  # type: ignore[arg-type]
            if not again.unknowns and not_in_data(self.layer, again.residual) is None:
                again.shorthand = u.shorthand
                again.fuzzy_terms.extend((m.unknown.text, m.surface) for m in near if m is not None)
                return again
        unresolved = [x.text for x, m in zip(u.unknowns, near, strict=True) if m is None] or [x.text for x in u.unknowns]
        term = messages.join(list(dict.fromkeys(unresolved))[:3], lang)
        if not u.recognised and looks_like_gibberish(" ".join(unresolved).lower()):
            return Plan(intent="clarify", language=lang, message=messages.text("gibberish", lang))
        people = self._people_who(u, unresolved)
        if people is not None:
            return people
        choices = self.near.closest(unresolved[0], self.layer, lang)
        key = "unknown_word" if choices else "unknown_word_plain"
        return Plan(intent="clarify", language=lang,
                    message=messages.text(key, lang, term=term, candidates=messages.join([c[2] for c in choices], lang)),
                    candidates=tuple(name for kind, name, _ in choices if kind == "metric"))

    def _people_who(self, u: Understanding, unresolved: list[str]) -> Understanding | None:
        """触达了多少人 / 关注了商户144的有多少人: an action word and a people count read as the
        metric counting the people who did it (触达用户数), when the layer has one."""
        if len(unresolved) != 1 or not (intents.PEOPLE.search(u.norm) or intents.COUNT.search(u.norm)):
            return None
        word = normalize(unresolved[0])
        for suffix in ("用户数", "人数", "用户"):
            entries = [e for e in self.lexicon.entries(word + suffix) if e.kind == "metric"]
            if entries:
                metric = entries[0].name
                u.unknowns = []
                u.metrics = [metric]  # 有多少用户关注了…: 用户 is who is counted, not a second metric
                u.entity_metrics = []
                u.people_counted = True  # the people count is this metric, not a second ask
                u.fuzzy_terms.append((unresolved[0], word + suffix))
                return u
        return None

    @staticmethod
    def _is_definition(u: Understanding) -> bool:
        if u.definition_strong:
            return True
        if not u.definition_weak or not u.metrics or u.mine:
            return False  # "what is our campaign ROI" asks for our number, not the definition
        plain = not (u.values or u.extra_filters or u.group_dims or u.time or u.order or u.top_n or u.trend
                     or u.grain or u.share or u.entity)
        if u.language == "en":
            return False  # "what is the average rating?" asks for the number; "how is X defined" is strong
        return plain

    # ------------------------------------------------------------------ intents
    def _definition(self, env: Env, u: Understanding) -> Plan:
        if not u.metrics:
            return clarify_metric(env, u, "definition_needs_metric")
        return Plan(intent="definition", language=u.language, definitions=tuple(u.metrics))

    def _copy(self, env: Env, u: Understanding, earlier: Plan | None = None) -> Plan:
        notes: list[str] = []
        channel_spans = [m.span() for p, _ in intents.COPY_CHANNELS for m in p.finditer(u.norm)]
        u.values = [v for v in u.values if not any(v.start < e and s < v.end for s, e in channel_spans)]
        said_topic = intents.COPY_TOPIC.search(u.norm)
        topic_hits = [v for v in u.values if said_topic and said_topic.start("topic") <= v.start
                      and v.end <= said_topic.end("topic")]  # 推广中古包: what to promote, not who
        u.values = [v for v in u.values if v not in topic_hits]
        filters, _, _ = resolve_values(env, u.values, [], prefer=self._user_dims)
        segment = [f for f in filters if not self._user_dims or f.dimension in self._user_dims]
        topic_filters = [f for f in filters if f not in segment]
        topic_filters += resolve_values(env, topic_hits, [])[0]
        segment.extend(u.extra_filters)
        if not segment and earlier is not None:  # 给他们写三条短信: the segment of the earlier answer
            source = earlier.copy_request.filters if earlier.copy_request else (earlier.query.filters if earlier.query else ())
            segment = [f for f in source if not self._user_dims or f.dimension in self._user_dims]
            if segment:
                words = "、".join(str(v) for f in segment for v in (f.value if isinstance(f.value, list) else [f.value]))
                earlier_label = earlier.copy_request.segment_label if earlier.copy_request else ""
                u.segment_said = earlier_label or (f"{words}用户" if u.language == "zh" else f"{words} users")
        if not segment and not _ALL_USERS.search(u.norm):
            return Plan(intent="clarify", language=u.language, message=messages.text("copy_needs_segment", u.language))
        channel = "sms"
        for pattern, name in intents.COPY_CHANNELS:
            if pattern.search(u.norm):
                channel = name
                break
        else:
            notes.append(messages.text("note_default_channel", u.language))
        count = 3
        found = intents.COPY_COUNT.search(u.norm)
        if found:
            count = max(1, min(10, to_int(found["n"] or found["n2"] or "") or 3))
        topic = None
        if topic_filters:
            topic = "、".join(str(f.value) for f in topic_filters)
        else:
            match = intents.COPY_TOPIC.search(u.norm)
            if match:
                topic = u.question[match.start("topic") : match.end("topic")].strip() or None
        request = CopyRequest(
            filters=tuple(segment),
            channel=channel,  # type: ignore[arg-type]
            count=count,
            segment_label=self._segment_label(u),
            topic=topic,
        )
        return Plan(intent="copy", language=u.language, copy_request=request, notes=tuple(notes))

    def _segment_label(self, u: Understanding) -> str:
        if u.segment_said:
            return u.segment_said
        spans = [(v.start, v.end) for v in u.values]
        if not spans:
            return "所有用户" if u.language == "zh" else "all users"
        start, end = min(s for s, _ in spans), max(e for _, e in spans)
        tail = _SEGMENT_TAIL.match(u.norm[end:])
        if tail:
            end += tail.end()
        return u.question[start:end].strip()

    def _why(self, env: Env, u: Understanding, as_of: date) -> Plan:
        if not u.metrics:
            return clarify_metric(env, u, "why_needs_metric", u.group_dims)
        metric = u.metrics[0]
        filters, _, problems = resolve_values(env, u.values, [metric])
        if problems:
            return incompatible_plan(env, problems[0][0], problems[0][1], u.language)
        filters.extend(u.extra_filters)
        if _cohort(u, metric) == "new_users":  # 华南抖音渠道新用户转化率: new users' channel is where they signed up
            filters = [f.model_copy(update={"dimension": "signup_" + f.dimension})
                       if dimension_exists(env, "signup_" + f.dimension) and not f.dimension.startswith("signup_") else f
                       for f in filters]
        bad = incompatible(env, [metric], [*u.group_dims, *(f.dimension for f in u.extra_filters)])
        if bad:
            return incompatible_plan(env, bad[0], bad[1], u.language)
        notes: list[str] = []
        time_range = u.time.range if u.time else None
        if time_range is None:
            time_range = latest_complete_month(as_of, u.language)
            notes.append(messages.text("note_default_time", u.language, label=time_range.label or ""))
        comparison = (u.time.comparison if u.time else None) or "previous_period"
        query = SemanticQuery(
            metrics=[metric], dimensions=list(u.group_dims), filters=filters,
            time_range=time_range, comparison=comparison,
        )
        why = WhyRequest(metric=metric, time_range=time_range, comparison=comparison, filters=tuple(filters),
                         direction=u.direction, cohort=_cohort(u, metric), time_defaulted=bool(notes))
        return Plan(
            intent="why", language=u.language, query=query, why_request=why,
            time_text=time_text(query, u.language, u.time.grain if u.time else None), notes=tuple(notes),
        )

    def _query(self, env: Env, u: Understanding) -> Plan:
        notes: list[str] = []
        metrics = list(u.metrics)
        if u.min_orders and u.entity not in (None, "user") and metrics:  # merchants with at least 30 orders: a condition
            orders = first_metric(env, ["order_count"])
            if orders is not None:
                u.having.append(MetricFilter(metric=orders, op="gte", value=float(u.min_orders)))
                metrics = [*metrics, orders] if orders not in metrics else metrics
                u.min_orders = None
        if u.min_orders:  # people who ordered 3+ times: their order counts decide who is counted
            orders = first_metric(env, ["order_count"])
            if orders is not None:
                return build_query(env, u, [orders], notes)
        if u.entity_grouped and metrics and all(m in u.entity_metrics for m in metrics):
            metrics = []  # "list merchants": the word named the entity, not merchant_count
        people, counted_entity = intents.PEOPLE.search(u.norm), "user"
        if people is None and u.entity and not u.entity_grouped and u.language == "zh":  # 滞销风险型的商户有几家 它们库存周转多少天
            people, counted_entity = intents.COUNT.search(u.norm), u.entity
        if metrics and people and not u.people_counted and not any(s <= people.start() < e for s, e in u.metric_spans) \
                and _own_clause(u, people.start()):  # 一般挽留客户多少人 平均CLV多少: two asks
            counted = count_metric(env, counted_entity)
            if counted and counted not in metrics:
                metrics = [counted, *metrics]
        if not metrics:
            chosen = self._implied_metric(env, u)
            if chosen is None:
                if u.count_request and u.entity and not u.group_dims:
                    entity = {"merchant": "商户", "user": "用户"}.get(u.entity, u.entity) if u.language == "zh" else f"{u.entity}s"
                    picked = [m.name for m in env.layer.metrics][:3]
                    message = messages.text("count_unknown", u.language, entity=entity, candidates=describe_metrics(env, picked, u.language))
                    return Plan(intent="clarify", language=u.language, message=message, candidates=tuple(picked))
                return clarify_metric(env, u, dims=[*u.group_dims, *(d for v in u.values for d in v.dims[:1])])
            metrics = [chosen]
            notes.append(messages.text("note_default_metric", u.language, metric=metric_label(env, chosen, u.language)))
        return build_query(env, u, metrics, notes)

    def _implied_metric(self, env: Env, u: Understanding) -> str | None:
        """A metric the question implies without naming one (never a silent guess:
        the choice is written into the plan's notes)."""
        dims = [*u.group_dims]
        if u.entity == "user" and (u.count_request or u.mainly or u.group_dims) and (not u.list_request or u.group_dims):
            # 用户按城市等级分一下 / 流失风险高的用户扎堆在哪些大区: people counted (哪些大区 lists regions, not users)
            if u.mine or u.buyers_said:
                return first_metric(env, ["buyer_count"], dims)
            return count_metric(env, "user") or (first_metric(env, ["buyer_count"], dims) if u.mainly else None)
        if intents.SPEND.search(u.norm):  # 营销活动花了多少钱 → spend; 他们花了多少钱 → what they paid
            if intents.CAMPAIGN_WORDS.search(u.norm):
                return next((m.name for m in env.layer.metrics if "营销费用" in m.synonyms or m.name == "marketing_spend"), None)
            return first_metric(env, ["gmv"], dims)
        if u.entity and u.count_request and not u.list_request:  # 商户有多少家 / how many KOLs / 商品有多少件
            return count_metric(env, u.entity)
        if u.entity and u.entity_grouped:
            return first_metric(env, ["gmv", "order_count"], dims)
        if intents.PEOPLE.search(u.norm) and not u.list_request:  # 各生命周期阶段分别多少人
            return count_metric(env, "user") or first_metric(env, ["buyer_count"], dims)
        if u.share and u.values and self._user_dims and all(
                any(d in self._user_dims for d in v.dims) for v in u.values):  # 沉默用户里男性占几成: people
            return count_metric(env, "user")
        if u.preference and (u.group_dims or u.which):
            return first_metric(env, ["order_count", "gmv"], dims)
        compared = len({(v.start, v.end) for v in u.values}) >= 2 and u.compare
        if u.growth or compared:  # 增长最快的品类 / 华东 vs 华南: sales is what is compared
            return first_metric(env, ["gmv", "order_count"], dims)
        return None


_CLAUSE_BREAK = re.compile(r"[,，;；。?？!！]|\s{1,}")


def _own_clause(u: Understanding, position: int) -> bool:
    """No metric word in the clause (between breaks: commas, spaces) that holds ``position``."""
    start = max((m.end() for m in _CLAUSE_BREAK.finditer(u.norm, 0, position)), default=0)
    found = _CLAUSE_BREAK.search(u.norm, position)
    end = found.start() if found else len(u.norm)
    return not any(start <= s < end for s, _ in u.metric_spans)


_ASK_WORDS = re.compile(r"多少|几[个家位人条单件]|\bhow (?:many|much)\b|\bwhat(?:'s| is| was| were| are)\b", re.ASCII)
_EACH_ASKED = re.compile(rf"各(?![位自])|{intents.PER_GROUP}|\bbroken down\b", re.ASCII)


def _shape_matches_the_ask(plan: Plan, u: Understanding) -> Plan:
    """One number for a question that compares (vs, 对比) or asks per group (各, 分别, each) is
    an answer to another question: ask instead of answering it confidently."""
    query = plan.query
    if plan.intent != "query" or query is None or plan.followup:
        return plan
    used = {f.dimension for f in query.filters} | set(query.dimensions) | {h.metric for h in query.having}
    if query.share_part is not None:
        used.add(query.share_part.dimension)
    dropped = [h for h in u.values if not h.negated and not set(h.dims) & used and not _names_no_rows(h)]
    if dropped:  # a value the question names that the answer would not use: never answer without it
        word = u.question[dropped[0].start:dropped[0].end] if dropped[0].end <= len(u.question) else ""
        return Plan(intent="clarify", language=plan.language, message=messages.text("value_unused", plan.language, term=word or "?"))
    single = len(query.metrics) == 1 and not query.dimensions and not query.grain and not query.comparison \
        and not query.share_of_total and query.share_part is None and query.per_period is None and not query.count_as
    asks = len(_ASK_WORDS.findall(u.norm))
    if asks >= 2 and len(query.metrics) < asks and not query.dimensions and not query.grain and not query.comparison:
        # 总共多少商户 其中认证的有几家 / how much did we spend and what's the roi: never one ask for two
        return Plan(intent="clarify", language=plan.language, message=messages.text("two_asks_one_answer", plan.language))
    if not single:
        return plan
    if intents.COMPARE.search(u.norm):
        return Plan(intent="clarify", language=plan.language, message=messages.text("compare_what", plan.language))
    if _EACH_ASKED.search(u.norm):
        return Plan(intent="clarify", language=plan.language, message=messages.text("each_what", plan.language))
    return plan


def _names_no_rows(hit: Any) -> bool:
    """Values of alert and tag-history dimensions (they name metrics and tags, and are read by
    the alert and tag answers, not as filters): never reported as unused."""
    return any(d.startswith(("alert", "tag")) for d in hit.dims)


def _whose_shop(plan: Plan, u: Understanding, role: Any) -> Plan:
    """我们店 / my shop asked by someone who is not a merchant, without naming the merchant:
    ask which shop, never answer the whole marketplace's figure."""
    if plan.intent not in ("query", "why") or not intents.MY_SHOP.search(u.norm):
        return plan
    if getattr(role, "merchant_id", None) is not None:
        return plan  # the guard keeps a merchant to their own rows
    query = plan.query
    if query is not None and any(f.dimension == "merchant_id" for f in query.filters):
        return plan
    return Plan(intent="clarify", language=plan.language, message=messages.text("whose_shop", plan.language))


def _substitute(question: str, near: list[NearMatch]) -> str:
    """The question with each unknown word replaced by the surface it was read as."""
    out = question
    for match in sorted(near, key=lambda m: -m.unknown.start):
        out = out[: match.unknown.start] + match.surface + out[match.unknown.end :]
    return out


def _cohort(u: Understanding, metric: str) -> Cohort:
    """new_users when new users qualify the metric (新用户转化率, conversion of new users),
    not when the metric itself counts them (新用户数下降)."""
    if metric in _NEW_USER_METRICS:
        return "all"
    if any(m in _NEW_USER_METRICS for _, m in u.modifiers) or any(
            m in _NEW_USER_METRICS for m in u.metrics if m != metric):
        return "new_users"
    return "new_users" if _NEW_USER_WORDS.search(u.norm) else "all"


_ASKS = re.compile(r"多少|几[个家位人条单]|有几|\bhow (?:many|much)\b|\bwhat(?:'s| is| are| was| were)\b", re.ASCII)


def _complete_pending(pending: Understanding, answer: Understanding) -> Understanding | None:
    """The answer to "which metric?" completes the question that was unclear."""
    if not answer.metrics or answer.definition_strong or answer.copy or (answer.why and not pending.why):
        return None
    if answer.values or answer.group_dims or answer.entity or answer.extra_filters:
        return None  # a new question of its own (商户179的订单数 after "which shop?")
    rest = len(answer.norm) - sum(end - start for start, end in answer.metric_spans)
    if rest > 8 or _ASKS.search(answer.norm):
        return None  # 有多少用户关注了达人: a whole question, not the name of a metric
    merged = Understanding(**{**pending.__dict__})
    merged.metrics = list(answer.metrics)
    if answer.time:
        merged.time = answer.time
    merged.residue = ""
    return merged


__all__ = ["OfflinePlanner", "Conversation", "Plan"]

