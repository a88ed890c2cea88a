"""``answer_relation``: run a ``RelationRequest`` and return frame, SQL, chart and finding.

Every query goes through ``chatbi.sql.run.run_guarded`` with the caller's role and a policy
that also knows the recommender tables (``relation_policy``). Those tables are refused for
merchant roles by the guard (no security column, no link); on top of that, questions whose
answer needs other merchants' or platform data (shared customers, communities, KOLs,
predictions) are refused for merchants here with a clear message, and a merchant asking about
its own customer network gets a picture of its own buyers only.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import pandas as pd

from chatbi.answer.context import describe_time
from chatbi.answer.findings import CheckResult
from chatbi.answer.types import Answer, Definition
from chatbi.errors import RefusedError, UnclearQuestionError, UserInputError, WarehouseError
from chatbi.planner.time_parser import latest_complete_month, parse_time
from chatbi.relations import charts, graph, journeys, social
from chatbi.relations import findings as F
from chatbi.relations.affinity import affinity_sql, quote
from chatbi.relations.intents import DEFAULT_LIMIT, RelationRequest
from chatbi.sql.executor import Executor, QueryError
from chatbi.sql.policy import AccessPolicy, Role
from chatbi.sql.run import run_guarded

MIN_DISPLAY_BOTH = 5  # also-bought rules shown need at least this many shared buyers
AUDIENCE_RANK = 3

# Columns of the recommender tables (chatbi/profiles/recommender.py), for the guard.
RELATION_TABLES: dict[str, frozenset[str]] = {
    "merchant_links": frozenset({"merchant_id", "other_merchant_id", "shared_buyers", "buyers",
                                 "other_buyers", "share_of_buyers", "jaccard", "link_rank",
                                 "profile_date"}),
    "merchant_communities": frozenset({"merchant_id", "community_id", "community_size", "buyers",
                                       "weighted_degree", "profile_date"}),
    "category_affinity": frozenset({"antecedent_type", "antecedent", "consequent_type", "consequent",
                                    "antecedent_buyers", "consequent_buyers", "both_buyers",
                                    "total_buyers", "confidence", "lift", "profile_date"}),
    "user_next_category": frozenset({"user_id", "category", "score", "rank", "profile_date"}),
    "user_next_merchant": frozenset({"user_id", "merchant_id", "score", "rank", "profile_date"}),
    "user_predictions": frozenset({"user_id", "predicted_next_categories", "predicted_next_category",
                                   "predicted_next_category_score", "profile_date"}),
    "recommender_metrics": frozenset({"item_kind", "k", "holdout_days", "train_cutoff", "as_of",
                                      "test_users", "items", "hit_rate", "recall",
                                      "baseline_hit_rate", "baseline_recall"}),
}


class RelationsNotBuiltError(UserInputError):
    """The recommender tables are missing: the profile build has not run the step."""

    code = "relations_not_built"


@dataclass
class RelationResult:
    """What a relationship answer shows: the table, the SQL, a chart and a checked finding."""

    frame: pd.DataFrame
    sql: str | None
    chart: dict[str, Any] | None
    finding: str
    notes: list[str] = field(default_factory=list)
    kind: str = ""
    definitions: list[Definition] = field(default_factory=list)
    truncated: bool = False
    time_text: str | None = None
    extra_sql: list[str] = field(default_factory=list)
    check: CheckResult | None = None


def relation_policy(policy: AccessPolicy) -> AccessPolicy:
    """``policy`` plus the recommender tables (no security column: refused for merchants)."""
    tables = dict(policy.tables)
    for name, columns in RELATION_TABLES.items():
        tables.setdefault(name, columns)
    security = {t: c for t, c in policy.security_columns.items() if t not in RELATION_TABLES}
    return dataclasses.replace(policy, tables=tables, security_columns=security)


def fill_answer(answer: Answer, result: RelationResult) -> Answer:
    """Copy a result into an ``Answer`` (intent "query", no semantic query)."""
    answer.intent = "query"
    answer.sql = result.sql
    answer.columns = [str(c) for c in result.frame.columns]
    answer.rows = [list(row) for row in result.frame.itertuples(index=False, name=None)]
    answer.truncated = result.truncated
    answer.chart = result.chart
    answer.finding = result.finding
    answer.definitions = list(result.definitions)
    answer.notes.extend(result.notes)
    if result.time_text:
        answer.time_range_text = result.time_text
    return answer


# ---------------------------------------------------------------------------------------
# Context
# ---------------------------------------------------------------------------------------

@dataclass
class _Ctx:
    request: RelationRequest
    executor: Executor
    policy: AccessPolicy
    role: Role
    as_of: date
    language: str
    start: date | None = None
    end: date | None = None
    label: str | None = None
    notes: list[str] = field(default_factory=list)
    sqls: list[str] = field(default_factory=list)
    truncated: bool = False

    @property
    def en(self) -> bool:
        return self.language == "en"

    def t(self, zh: str, en: str) -> str:
        return en if self.en else zh

    @property
    def limit(self) -> int:
        return self.request.limit or DEFAULT_LIMIT

    def when(self) -> str:
        if self.start and self.end:
            return describe_time(self.start, self.end, self.label, self.language)
        return self.t(f"截至 {self.as_of.isoformat()}", f"up to {self.as_of.isoformat()}")

    def window(self) -> tuple[date, date]:
        return (self.start or date(1900, 1, 1), self.end or self.as_of)

    def run(self, sql: str, *, main: bool = True, record: bool = True) -> pd.DataFrame:
        """Guard and run ``sql`` for the role; ``main`` queries set ``truncated``, recorded ones
        are shown as the answer's SQL (the first) or as extra SQL."""
        try:
            guarded, result = run_guarded(sql, executor=self.executor, policy=self.policy,
                                          role=self.role, dialect="duckdb")  # DuckDB text
        except (QueryError, WarehouseError) as exc:
            text = str(exc.message)
            if any(t in text for t in RELATION_TABLES) and ("not exist" in text or "Catalog" in text):
                raise RelationsNotBuiltError(
                    "关系数据尚未构建，请先重新构建画像（chatbi build-profiles）/ The relationship "
                    "tables are not built yet; rebuild the profiles first.") from exc
            raise
        if record:
            self.sqls.append(guarded.sql)
        if main:
            self.truncated = self.truncated or result.truncated
        return result.to_frame()

    def refuse_merchant(self, zh: str, en: str) -> None:
        if self.role.is_merchant:
            raise RefusedError(f"{zh} / {en}", code="refused_merchant_scope")


def _resolve_time(ctx: _Ctx, default_month: bool) -> None:
    parsed = parse_time(ctx.request.question, ctx.as_of)
    if parsed and parsed.range:
        ctx.start, ctx.end, ctx.label = parsed.range.start, parsed.range.end, parsed.range.label
    elif default_month:
        rng = latest_complete_month(ctx.as_of, ctx.language)
        ctx.start, ctx.end, ctx.label = rng.start, rng.end, rng.label
        ctx.notes.append(ctx.t(f"未指定时间，默认看{rng.label}（{rng.start} 至 {rng.end}）。",
                               f"No time range given: showing {rng.label} ({rng.start} to {rng.end})."))


def _snapshot_note(ctx: _Ctx) -> None:
    parsed = parse_time(ctx.request.question, ctx.as_of)
    if parsed and parsed.range:
        ctx.notes.append(ctx.t(
            "关系图谱按截至画像构建日的全部有效订单计算，所问的时间范围未单独筛选。",
            "The relationship graph covers all valid orders up to the profile build; the time "
            "range asked for is not applied."))


# ---------------------------------------------------------------------------------------
# Public entry point
# ---------------------------------------------------------------------------------------

def answer_relation(request: RelationRequest, *, executor: Executor, policy: AccessPolicy,
                    role: Role, layer: Any = None, as_of: date, language: str | None = None
                    ) -> RelationResult:
    """Answer a relationship request for ``role``; raises ChatBIError subclasses for refusals
    (``RefusedError``), unclear references (``UnclearQuestionError``) and missing tables."""
    lang = "en" if (language or request.language) == "en" else "zh"
    ctx = _Ctx(request, executor, relation_policy(policy), role, as_of, lang)
    handler = _HANDLERS[request.kind]
    frame, chart, finding, check_args, definitions = handler(ctx)
    check = F.check_relation_finding(finding, frame, language=lang, window=ctx.window(), **check_args)
    if not check.ok:  # never state a number the frame does not hold
        ctx.notes.append(ctx.t("说明文字未通过数字校验，已改为简要说明。",
                               "The finding failed the number check and was replaced."))
        finding = ctx.t(f"{ctx.when()}，共返回 {len(frame)} 行。", f"{len(frame)} rows, {ctx.when()}.")
    time_text = None
    if ctx.start and ctx.end:
        time_text = f"{ctx.label} = {ctx.start} 至 {ctx.end}" if not ctx.en else \
            f"{ctx.label} = {ctx.start} to {ctx.end}"
    return RelationResult(frame=frame, sql=ctx.sqls[0] if ctx.sqls else None, chart=chart,
                          finding=finding, notes=ctx.notes, kind=request.kind,
                          definitions=definitions, truncated=ctx.truncated, time_text=time_text,
                          extra_sql=ctx.sqls[1:], check=check)


Handled = tuple[pd.DataFrame, dict[str, Any] | None, str, dict[str, Any], list[Definition]]


def _definition(ctx: _Ctx, name: str, zh: tuple[str, str], en: tuple[str, str], sql: str) -> Definition:
    label, text = en if ctx.en else zh
    return Definition(name=name, label=label, description=text, sql=sql)


# ---------------------------------------------------------------------------------------
# Graph
# ---------------------------------------------------------------------------------------

_SHARED_DEF = ("共享买家数", "同时在两家商户都有有效订单（状态不是 cancelled）的去重用户数，截至画像构建日。")
_SHARED_DEF_EN = ("shared buyers", "distinct users with a valid order (status <> 'cancelled') at both merchants, up to the profile build.")


def _shared_definition(ctx: _Ctx) -> Definition:
    return _definition(ctx, "shared_buyers", _SHARED_DEF, _SHARED_DEF_EN,
                       "COUNT(DISTINCT user_id) FROM orders WHERE status <> 'cancelled' "
                       "AND user bought at merchant A AND at merchant B")


def _resolve_merchant(ctx: _Ctx) -> int | None:
    req = ctx.request
    if req.merchant_id is not None:
        return req.merchant_id
    if req.merchant_text:
        found = ctx.run(graph.merchant_lookup_sql(req.merchant_text), main=False, record=False)
        if found.empty:
            raise UnclearQuestionError(
                ctx.t(f"没有找到名称包含「{req.merchant_text}」的商户，请给出商户ID。",
                      f"No merchant matches \"{req.merchant_text}\"; please give the merchant id."),
                code="merchant_not_found")
        exact = found[found["merchant_name"] == req.merchant_text]
        if len(exact) == 1 or len(found) == 1:
            return int((exact if len(exact) == 1 else found)["merchant_id"].iloc[0])
        names = "、".join(f"{r.merchant_name}（{r.merchant_id}）" for r in found.head(5).itertuples())
        raise UnclearQuestionError(ctx.t(f"有多个商户匹配「{req.merchant_text}」：{names}，请指明商户ID。",
                                         f"Several merchants match \"{req.merchant_text}\": {names}. "
                                         "Please give the merchant id."), code="merchant_ambiguous")
    if req.own and ctx.role.is_merchant:
        return ctx.role.merchant_id
    return None


def _names(ctx: _Ctx, ids: list[int]) -> dict[int, str]:
    if not ids:
        return {}
    frame = ctx.run("SELECT m.merchant_id, m.merchant_name FROM merchants m WHERE m.merchant_id IN ("
                    + ", ".join(str(int(i)) for i in ids) + ")", main=False)
    return {int(r.merchant_id): str(r.merchant_name) for r in frame.itertuples()}


def _links_among(ctx: _Ctx, ids: list[int], secondary: bool = False) -> list[charts.Edge]:
    frame = ctx.run(graph.links_among_sql(ids), main=False)
    label = ctx.t("共享买家", "shared buyers")
    return [charts.Edge(int(r.merchant_id), int(r.other_merchant_id), float(r.shared_buyers),
                        {label: int(r.shared_buyers)}, secondary=secondary) for r in frame.itertuples()]


def _repeat_buyers(ctx: _Ctx) -> Handled:
    _snapshot_note(ctx)
    frame = ctx.run(graph.repeat_buyers_sql(ctx.limit))
    title = ctx.t("复购用户最多的商户", "Merchants with the most repeat buyers")
    sub = ctx.t("复购用户：在该商户有 2 个及以上有效订单", "repeat buyer: 2+ valid orders at the merchant")
    if ctx.role.is_merchant or frame.empty:
        chart = charts.bar_spec(frame.assign(name=[F.row_label(r) for r in frame.to_dict("records")]),
                                label="name", value="repeat_buyers", title=title, subtitle=sub,
                                value_title=ctx.t("复购用户数", "repeat buyers")) if not frame.empty else None
    else:
        ids = [int(i) for i in frame["merchant_id"]]
        size_t, color_t = ctx.t("复购用户数", "repeat buyers"), ctx.t("复购用户占比", "repeat share")
        nodes = [charts.Node(int(r["merchant_id"]), F.row_label(r), float(r["repeat_buyers"]),
                             round(float(r["repeat_buyer_share"]), 3),
                             {size_t: int(r["repeat_buyers"]), color_t: round(float(r["repeat_buyer_share"]), 3)})
                 for r in frame.to_dict("records")]
        chart = charts.network_spec(nodes, _links_among(ctx, ids), title=title, subtitle=sub,
                                    size_title=size_t, color_title=color_t,
                                    edge_title=ctx.t("共享买家", "shared buyers"))
    if frame.empty:
        finding = ctx.t("没有找到有买家的商户。", "No merchant has buyers yet.")
    elif ctx.role.is_merchant:
        top = frame.iloc[0]
        finding = (f"Up to the profile build, {F.n(top.repeat_buyers, 'en')} of the shop's {F.n(top.buyers, 'en')} "
                   f"buyers ({F.pct(top.repeat_buyer_share)}) ordered at least twice; other merchants' "
                   "figures are not visible to a merchant account." if ctx.en else
                   f"截至画像构建日，本店（{F.row_label(top)}）有 {F.n(top.repeat_buyers, 'zh')} 位复购用户，"
                   f"占 {F.n(top.buyers, 'zh')} 位买家的 {F.pct(top.repeat_buyer_share)}；商户账号看不到其他商户的数据。")
    else:
        top = frame.iloc[0]
        best = frame.loc[frame["repeat_buyer_share"].idxmax()]
        if ctx.en:
            finding = (f"Up to the profile build, {F.row_label(top)} has the most repeat buyers: "
                       f"{F.n(top.repeat_buyers, 'en')} of its {F.n(top.buyers, 'en')} buyers "
                       f"({F.pct(top.repeat_buyer_share)}) ordered there at least twice.")
            if len(frame) > 1:
                finding += (f" Among the top {len(frame)}, {F.row_label(best)} has the highest "
                            f"repeat share at {F.pct(best.repeat_buyer_share)}.")
        else:
            finding = (f"截至画像构建日，复购用户最多的商户是{F.row_label(top)}：{F.n(top.repeat_buyers, 'zh')} 位"
                       f"买家在该店下过 2 单及以上，占其 {F.n(top.buyers, 'zh')} 位买家的 "
                       f"{F.pct(top.repeat_buyer_share)}。")
            if len(frame) > 1:
                finding += (f"前 {len(frame)} 名中复购用户占比最高的是{F.row_label(best)}"
                            f"（{F.pct(best.repeat_buyer_share)}）。")
    definition = _definition(ctx, "repeat_buyers", ("复购用户", "在同一商户有 2 个及以上有效订单的用户（用户–商户关系表 is_repeat_buyer）。"),
                             ("repeat buyers", "users with 2+ valid orders at the same merchant (user_merchant_relation.is_repeat_buyer)."),
                             "COUNT(*) FROM user_merchant_relation WHERE is_repeat_buyer")
    return frame, chart, finding, {"ratio_columns": ["repeat_buyer_share"], "extra_counts": [2]}, [definition]


def _merchant_refusal(ctx: _Ctx) -> None:
    ctx.refuse_merchant("共享客户和商户关系网络需要其他商户的订单数据，商户账号只能查看自己店铺的客户",
                        "shared customers and the merchant network use other merchants' orders; a "
                        "merchant account can only see its own customers")


def _shared_customers(ctx: _Ctx) -> Handled:
    _merchant_refusal(ctx)
    _snapshot_note(ctx)
    center = _resolve_merchant(ctx)
    if center is None and ctx.request.own:
        raise UnclearQuestionError(ctx.t("请指明是哪家商户（商户ID或名称）。",
                                         "Which merchant? Please give its id or name."),
                                   code="merchant_unspecified")
    if center is None:
        return _top_pairs(ctx)
    return _ego(ctx, center, network_words=False)


def _ego(ctx: _Ctx, center: int, *, network_words: bool) -> Handled:
    limit = min(ctx.limit, charts.MAX_NODES - 1)
    frame = ctx.run(graph.neighbours_sql(center, limit))
    names = _names(ctx, [center])
    center_name = names.get(center, f"#{center}")
    if frame.empty:
        raise UnclearQuestionError(ctx.t(f"商户 {center} 没有与其他商户共享的买家（或不存在）。",
                                         f"Merchant {center} shares no buyers with other merchants (or does not exist)."),
                                   code="merchant_no_links")
    center_buyers = int(frame["center_buyers"].iloc[0])
    size_t, color_t = ctx.t("买家数", "buyers"), ctx.t("共享买家", "shared buyers")
    nodes = [charts.Node(center, center_name, float(center_buyers), None, {size_t: center_buyers, color_t: center_buyers},
                         highlight=True)]
    nodes += [charts.Node(int(r["merchant_id"]), F.row_label(r), float(r["buyers"]), int(r["shared_buyers"]),
                          {size_t: int(r["buyers"]), color_t: int(r["shared_buyers"])})
              for r in frame.to_dict("records")]
    edges = [charts.Edge(center, int(r["merchant_id"]), float(r["shared_buyers"]),
                         {color_t: int(r["shared_buyers"])}) for r in frame.to_dict("records")]
    edges += _links_among(ctx, [int(i) for i in frame["merchant_id"]], secondary=True)
    title = ctx.t(f"{center_name} 的客户网络", f"Customer network of {center_name}")
    sub = ctx.t("节点大小 = 买家数，颜色 = 与中心商户的共享买家数", "size = buyers, colour = buyers shared with the centre")
    nodes[0] = dataclasses.replace(nodes[0], color=int(frame["shared_buyers"].max()))
    chart = charts.network_spec(nodes, edges, title=title, subtitle=sub, size_title=size_t,
                                color_title=color_t, edge_title=color_t)
    top = frame.iloc[0]
    frame = frame.drop(columns=["center_buyers"]).assign(center_merchant_id=center,
                                                         center_buyers=center_buyers)
    if ctx.en:
        lead = (f"{center_name}'s {F.n(center_buyers, 'en')} buyers also buy most at" if network_words
                else f"The merchant sharing the most buyers with {center_name} is")
        finding = (f"{lead} {F.row_label(top)}: {F.n(top.shared_buyers, 'en')} shared buyers, "
                   f"{F.pct(top.share_of_buyers)} of {center_name}'s buyers (Jaccard overlap {F.pct(top.jaccard)}).")
        if len(frame) > 1:
            second = frame.iloc[1]
            finding += f" Next is {F.row_label(second)} with {F.n(second.shared_buyers, 'en')}."
    else:
        lead = (f"{center_name}的 {F.n(center_buyers, 'zh')} 位买家中，最多人也在{F.row_label(top)}下单"
                if network_words else f"与{center_name}共享买家最多的商户是{F.row_label(top)}")
        finding = (f"截至画像构建日，{lead}：共同买家 {F.n(top.shared_buyers, 'zh')} 位，占{center_name}买家的 "
                   f"{F.pct(top.share_of_buyers)}（买家重合度 {F.pct(top.jaccard)}）。")
        if len(frame) > 1:
            second = frame.iloc[1]
            finding += f"其次是{F.row_label(second)}（{F.n(second.shared_buyers, 'zh')} 位）。"
    return frame, chart, finding, {"ratio_columns": ["share_of_buyers", "jaccard"]}, [_shared_definition(ctx)]


def _top_pairs(ctx: _Ctx) -> Handled:
    frame = ctx.run(graph.top_pairs_sql(min(ctx.limit, 20)))
    size_t, edge_t = ctx.t("买家数", "buyers"), ctx.t("共享买家", "shared buyers")
    nodes: dict[int, charts.Node] = {}
    for r in frame.to_dict("records"):
        for key, name, buyers in ((r["merchant_id"], r["merchant_name"], r["buyers"]),
                                  (r["other_merchant_id"], r["other_merchant_name"], r["other_buyers"])):
            nodes.setdefault(int(key), charts.Node(int(key), str(name), float(buyers), int(buyers), {size_t: int(buyers)}))
    edges = [charts.Edge(int(r["merchant_id"]), int(r["other_merchant_id"]), float(r["shared_buyers"]),
                         {edge_t: int(r["shared_buyers"])}) for r in frame.to_dict("records")]
    chart = charts.network_spec(list(nodes.values()), edges,
                                title=ctx.t("共享买家最多的商户对", "Merchant pairs sharing the most buyers"),
                                subtitle=ctx.t("连线粗细 = 共享买家数", "line width = shared buyers"),
                                size_title=size_t, color_title=size_t, edge_title=edge_t) if len(frame) else None
    if frame.empty:
        finding = ctx.t("没有商户之间共享买家。", "No two merchants share a buyer.")
    else:
        top = frame.iloc[0]
        a, b = F.row_label(top), F.row_label(top, "other_merchant_name", "other_merchant_id")
        finding = (f"Up to the profile build, {a} and {b} share the most buyers: {F.n(top.shared_buyers, 'en')} "
                   f"(Jaccard overlap {F.pct(top.jaccard)})." if ctx.en else
                   f"截至画像构建日，共享买家最多的商户对是{a}和{b}：共同买家 {F.n(top.shared_buyers, 'zh')} 位"
                   f"（买家重合度 {F.pct(top.jaccard)}）。")
    return frame, chart, finding, {"ratio_columns": ["jaccard"]}, [_shared_definition(ctx)]


def _merchant_network(ctx: _Ctx) -> Handled:
    _snapshot_note(ctx)
    if ctx.role.is_merchant:
        center = _resolve_merchant(ctx) if (ctx.request.merchant_id or ctx.request.merchant_text) else ctx.role.merchant_id
        if center != ctx.role.merchant_id:
            raise RefusedError("商户账号只能查看自己店铺的客户网络 / a merchant account can only see "
                               "its own customer network", code="refused_other_merchant")
        return _own_customers(ctx, int(center or 0))
    center = _resolve_merchant(ctx)
    if center is None and ctx.request.own:
        raise UnclearQuestionError(ctx.t("请指明是哪家商户（商户ID或名称）。",
                                         "Which merchant? Please give its id or name."),
                                   code="merchant_unspecified")
    if center is None:
        return _communities(ctx)
    return _ego(ctx, center, network_words=True)


def _own_customers(ctx: _Ctx, merchant_id: int) -> Handled:
    frame = ctx.run(graph.own_customers_sql(merchant_id, charts.MAX_NODES - 1))
    size_t, color_t = ctx.t("GMV", "GMV"), ctx.t("忠诚度", "loyalty")
    name = _names(ctx, [merchant_id]).get(merchant_id, f"#{merchant_id}")
    nodes = [charts.Node(merchant_id, name, float(frame["gmv"].max()) if len(frame) else 1.0, None, {}, highlight=True)]
    user = ctx.t("用户", "user")
    nodes += [charts.Node(int(r["user_id"]), f"{user} {int(r['user_id'])}", float(r["gmv"]),
                          float(r["loyalty_score"]), {size_t: round(float(r["gmv"]), 2), color_t: float(r["loyalty_score"])})
              for r in frame.to_dict("records")]
    edges = [charts.Edge(merchant_id, int(r["user_id"]), float(r["order_count"]),
                         {ctx.t("订单数", "orders"): int(r["order_count"])}) for r in frame.to_dict("records")]
    nodes[0] = dataclasses.replace(nodes[0], color=float(frame["loyalty_score"].max()) if len(frame) else 0.0)
    chart = charts.network_spec(nodes, edges, title=ctx.t(f"{name} 的客户网络", f"Customer network of {name}"),
                                subtitle=ctx.t("前 24 位买家：大小 = GMV，颜色 = 忠诚度，连线 = 订单数",
                                               "top 24 buyers: size = GMV, colour = loyalty, line = orders"),
                                size_title=size_t, color_title=color_t,
                                edge_title=ctx.t("订单数", "orders")) if len(frame) else None
    if frame.empty:
        finding = ctx.t("截至画像构建日，本店还没有买家。", "Up to the profile build, the shop has no buyers yet.")
    else:
        top = frame.iloc[0]
        finding = (f"Up to the profile build, the shop has {F.n(top.buyers, 'en')} buyers, "
                   f"{F.n(top.repeat_buyers, 'en')} of them repeat buyers; the largest is user {int(top.user_id)} "
                   f"with {F.n(top.order_count, 'en')} orders and {F.money(top.gmv, 'en')}." if ctx.en else
                   f"截至画像构建日，本店共有 {F.n(top.buyers, 'zh')} 位买家，其中复购用户 {F.n(top.repeat_buyers, 'zh')} 位；"
                   f"消费最多的是用户 {int(top.user_id)}：{F.n(top.order_count, 'zh')} 单，{F.money(top.gmv, 'zh')}。")
    return frame, chart, finding, {}, []


def _communities(ctx: _Ctx) -> Handled:
    _merchant_refusal(ctx)
    _snapshot_note(ctx)
    members = ctx.run(graph.community_members_sql(), main=False)
    rows = []
    for cid, group in members.groupby("community_id", sort=True):
        group = group.sort_values(["buyers", "merchant_id"], ascending=[False, True])
        cats = group["main_category"].value_counts()
        rows.append({"community_id": int(cid), "merchant_count": len(group),
                     "main_category": str(cats.index[0]) if len(cats) else None,
                     "main_category_merchants": int(cats.iloc[0]) if len(cats) else 0,
                     "top_merchants": ("、" if not ctx.en else ", ").join(
                         F.row_label(r) for r in group.head(3).to_dict("records"))})
    frame = pd.DataFrame(rows, columns=["community_id", "merchant_count", "main_category",
                                        "main_category_merchants", "top_merchants"])
    top = members.sort_values(["buyers", "merchant_id"], ascending=[False, True]).head(charts.MAX_NODES)
    group_t, size_t = ctx.t("社群", "community"), ctx.t("买家数", "buyers")
    nodes = [charts.Node(int(r["merchant_id"]), F.row_label(r), float(r["buyers"] or 0),
                         f"{group_t} {int(r['community_id'])}", {size_t: int(r["buyers"] or 0)})
             for r in top.to_dict("records")]
    chart = charts.network_spec(nodes, _links_among(ctx, [int(i) for i in top["merchant_id"]]),
                                title=ctx.t("共享客户的商户社群", "Merchant communities by shared customers"),
                                subtitle=ctx.t("买家最多的 25 家商户；颜色 = 社群（Louvain），连线 = 共享买家",
                                               "the 25 merchants with most buyers; colour = community (Louvain), lines = shared buyers"),
                                size_title=size_t, color_title=group_t,
                                edge_title=ctx.t("共享买家", "shared buyers")) if len(top) else None
    if frame.empty:
        finding = ctx.t("没有商户社群数据。", "No merchant communities found.")
    else:
        big = frame.sort_values(["merchant_count", "community_id"], ascending=[False, True]).iloc[0]
        finding = (f"Up to the profile build, merchants form {len(frame)} communities of shared customers; "
                   f"the largest, community {int(big.community_id)}, has {F.n(big.merchant_count, 'en')} merchants, "
                   f"mostly {big.main_category} ({F.n(big.main_category_merchants, 'en')}), led by {big.top_merchants}."
                   if ctx.en else
                   f"截至画像构建日，商户按共享客户聚成 {len(frame)} 个社群；最大的是社群 {int(big.community_id)}，"
                   f"共 {F.n(big.merchant_count, 'zh')} 家商户，以{big.main_category}为主（{F.n(big.main_category_merchants, 'zh')} 家），"
                   f"代表商户有{big.top_merchants}。")
    definition = _definition(ctx, "merchant_community", ("商户社群", "按共享买家把商户分群（networkx Louvain，权重为买家集合的 Jaccard 重合度，固定随机种子）。"),
                             ("merchant community", "merchants grouped by shared buyers (networkx Louvain on the Jaccard overlap of buyer sets, fixed seed)."),
                             "louvain_communities(merchant_links, weight=jaccard, seed=7)")
    return frame, chart, finding, {"extra_counts": [len(frame)]}, [definition, _shared_definition(ctx)]


# ---------------------------------------------------------------------------------------
# KOLs
# ---------------------------------------------------------------------------------------

def _kol_refusal(ctx: _Ctx) -> None:
    ctx.refuse_merchant("KOL 与粉丝数据属于平台数据，商户账号不能查看",
                        "KOL and follower data are platform data that merchant accounts cannot see")


def _kol_definition(ctx: _Ctx) -> Definition:
    return _definition(ctx, "follower_gmv", ("粉丝GMV", "关注该 KOL 的用户在期内有效订单的实付金额（按商品金额比例分摊到商品）之和。"),
                       ("follower GMV", "pay_amount of the KOL's followers' valid orders in the period, split over items by price × quantity."),
                       "SUM(pay_amount) FROM orders WHERE status <> 'cancelled' AND user_id IN (followers of the KOL)")


def _kol_ranking(ctx: _Ctx) -> Handled:
    _kol_refusal(ctx)
    _resolve_time(ctx, default_month=False)
    req = ctx.request
    order = "gmv_per_follower" if req.per_follower else "follower_gmv"
    frame = ctx.run(social.kol_ranking_sql(ctx.as_of if not ctx.end else ctx.end, start=ctx.start,
                                           order_by=order, domain=req.kol_domain, limit=ctx.limit))
    if req.per_follower:
        ctx.notes.append(ctx.t(f"按人均粉丝GMV排名，只比较本平台关注者不少于 {social.MIN_FOLLOWERS} 人的 KOL。",
                               f"Ranked by GMV per follower among KOLs with at least {social.MIN_FOLLOWERS} followers here."))
    value_t = ctx.t("人均粉丝GMV（元）", "GMV per follower (¥)") if req.per_follower else ctx.t("粉丝GMV（元）", "follower GMV (¥)")
    chart = charts.bar_spec(frame, label="kol_name", value=order,
                            title=ctx.t("粉丝购买力最强的 KOL", "KOLs whose followers buy the most"),
                            subtitle=ctx.when(), value_title=value_t, color="kol_domain",
                            color_title=ctx.t("领域", "domain"),
                            tooltip=["followers", "buying_followers", "top_category", "signature_style"]) if len(frame) else None
    if frame.empty:
        finding = ctx.t(f"{ctx.when()}，没有 KOL 粉丝的购买记录。", f"No purchases by KOL followers, {ctx.when()}.")
    else:
        top = frame.iloc[0]
        style = ""
        if isinstance(top.signature_style, str):
            style = (f" Compared with all buyers they over-buy {top.signature_style} "
                     f"({F.pct(top.signature_style_share)} of their items, {F.times(top.signature_style_lift, 'en')})."
                     if ctx.en else
                     f"相比全体买家，他们更偏爱{top.signature_style}（占其购买件数的 {F.pct(top.signature_style_share)}，"
                     f"是整体的 {F.times(top.signature_style_lift, 'zh')}）。")
        if ctx.en:
            finding = (f"{ctx.when().capitalize()}, {top.kol_name} ({top.kol_domain}) has the strongest-buying followers: "
                       f"{F.n(top.buying_followers, 'en')} of {F.n(top.followers, 'en')} followers bought, "
                       f"{F.money(top.follower_gmv, 'en')} in all ({F.money(top.gmv_per_follower, 'en')} per follower), "
                       f"most in {top.top_category}." + style)
        else:
            finding = (f"{ctx.when()}，粉丝购买力最强的 KOL 是{top.kol_name}（{top.kol_domain}）：{F.n(top.followers, 'zh')} 位关注者中"
                       f" {F.n(top.buying_followers, 'zh')} 位下过单，粉丝GMV {F.money(top.follower_gmv, 'zh')}"
                       f"（人均 {F.money(top.gmv_per_follower, 'zh')}），买得最多的品类是{top.top_category}。" + style)
    return (frame, chart, finding,
            {"ratio_columns": ["signature_style_share"], "multiple_columns": ["signature_style_lift"]},
            [_kol_definition(ctx)])


def _kol_preferences(ctx: _Ctx) -> Handled:
    _kol_refusal(ctx)
    _resolve_time(ctx, default_month=False)
    req = ctx.request
    item_type = req.consequent_type if req.consequent_type in ("style", "category", "brand") else "style"
    frame = ctx.run(social.kol_preferences_sql(ctx.end or ctx.as_of, item_type=item_type,
                                               domain=req.kol_domain, start=ctx.start))
    who = ctx.t(f"关注{req.kol_domain}博主的用户" if req.kol_domain else "KOL 粉丝",
                f"followers of {req.kol_domain} KOLs" if req.kol_domain else "KOL followers")
    item_t = {"style": ctx.t("款式", "style"), "category": ctx.t("品类", "category"), "brand": ctx.t("品牌", "brand")}[item_type]
    chart_frame = frame.sort_values(["lift", item_type], ascending=[False, True]) if len(frame) else frame
    chart = charts.bar_spec(chart_frame, label=item_type, value="lift",
                            title=ctx.t(f"{who}偏好的{item_t}", f"{item_t.capitalize()} preferences of {who}"),
                            subtitle=ctx.t("倍数 = 粉丝购买件数占比 ÷ 其他用户占比", "lift = followers' share of items ÷ other users' share"),
                            value_title=ctx.t("偏好倍数", "lift"), value_format=".2f",
                            tooltip=["follower_share", "other_share", "follower_items"]) if len(frame) else None
    if frame.empty or frame["follower_items"].sum() == 0:
        finding = ctx.t(f"{ctx.when()}，{who}没有购买记录。", f"{who.capitalize()} bought nothing, {ctx.when()}.")
    else:
        top = frame.iloc[0]
        fav = frame.loc[frame["lift"].fillna(0).idxmax()]
        col = item_type
        if ctx.en:
            finding = (f"{ctx.when().capitalize()}, the {F.n(top.followers, 'en')} {who} bought {top[col]} most "
                       f"({F.pct(top.follower_share)} of their items vs {F.pct(top.other_share)} for other users).")
            finding += (f" The {item_t} they favour most relative to others is {fav[col]}: "
                        f"{F.times(fav.lift, 'en')} the share among other users.")
        else:
            finding = (f"{ctx.when()}，{F.n(top.followers, 'zh')} 位{who}买得最多的{item_t}是{top[col]}"
                       f"（占其购买件数的 {F.pct(top.follower_share)}，其他用户为 {F.pct(top.other_share)}）。")
            finding += f"相对其他用户最偏爱的{item_t}是{fav[col]}，占比是其他用户的 {F.times(fav.lift, 'zh')}。"
    return (frame, chart, finding,
            {"ratio_columns": ["follower_share", "other_share"], "multiple_columns": ["lift"]},
            [_kol_definition(ctx)])


def _kol_for_item(ctx: _Ctx) -> Handled:
    _kol_refusal(ctx)
    _resolve_time(ctx, default_month=False)
    req = ctx.request
    assert req.item_type and req.item
    frame = ctx.run(social.kol_for_item_sql(ctx.end or ctx.as_of, item_type=req.item_type, item=req.item,
                                            start=ctx.start, limit=ctx.limit))
    chart = charts.bar_spec(frame, label="kol_name", value="item_buyers_following",
                            title=ctx.t(f"{req.item}买家关注的 KOL", f"KOLs followed by buyers of {req.item}"),
                            subtitle=ctx.when(), value_title=ctx.t("关注的买家数", "buyers following"),
                            color="kol_domain", color_title=ctx.t("领域", "domain"),
                            tooltip=["share_of_item_buyers", "lift"]) if len(frame) else None
    if frame.empty:
        finding = ctx.t(f"{ctx.when()}，{req.item}的买家没有关注 KOL。", f"Buyers of {req.item} follow no KOL, {ctx.when()}.")
    else:
        top = frame.iloc[0]
        fav = frame.loc[frame["lift"].fillna(0).idxmax()]
        finding = (f"{ctx.when().capitalize()}, of the {F.n(top.item_buyers, 'en')} buyers of {req.item}, most follow "
                   f"{top.kol_name} ({top.kol_domain}): {F.n(top.item_buyers_following, 'en')} buyers, "
                   f"{F.pct(top.share_of_item_buyers)}. The most distinctive is {fav.kol_name} ({F.times(fav.lift, 'en')} "
                   f"the rate among all buyers)." if ctx.en else
                   f"{ctx.when()}，{F.n(top.item_buyers, 'zh')} 位{req.item}买家中关注最多的 KOL 是{top.kol_name}（{top.kol_domain}）："
                   f"{F.n(top.item_buyers_following, 'zh')} 位，占 {F.pct(top.share_of_item_buyers)}；相对全体买家最突出的是"
                   f"{fav.kol_name}（关注比例是全体买家的 {F.times(fav.lift, 'zh')}）。")
    return (frame, chart, finding, {"ratio_columns": ["share_of_item_buyers", "share_of_all_buyers"],
                                    "multiple_columns": ["lift"]}, [_kol_definition(ctx)])


# ---------------------------------------------------------------------------------------
# Collaborative filtering
# ---------------------------------------------------------------------------------------

def _also_bought(ctx: _Ctx) -> Handled:
    req = ctx.request
    assert req.item_type and req.item
    _resolve_time(ctx, default_month=False)
    consequent = req.consequent_type or req.item_type
    cols = "consequent, consequent_type, both_buyers, antecedent_buyers, consequent_buyers, total_buyers, confidence, lift"
    if ctx.role.is_merchant or ctx.start:
        inner = affinity_sql(ctx.end or ctx.as_of, start=ctx.start, antecedent_type=req.item_type,
                             antecedent=req.item, consequent_type=consequent)
        sql = (f"SELECT {cols} FROM ({inner}) r WHERE r.both_buyers >= {MIN_DISPLAY_BOTH} "
               f"ORDER BY r.lift DESC, r.consequent LIMIT {ctx.limit}")
        if ctx.role.is_merchant:
            ctx.notes.append(ctx.t("商户账号：只统计本店的订单。", "Merchant account: only the shop's own orders are counted."))
    else:
        sql = (f"SELECT {', '.join('a.' + c.strip() for c in cols.split(','))} FROM category_affinity a "
               f"WHERE a.antecedent_type = {quote(req.item_type)} AND a.antecedent = {quote(req.item)} "
               f"AND a.consequent_type = {quote(consequent)} AND a.both_buyers >= {MIN_DISPLAY_BOTH} "
               f"ORDER BY a.lift DESC, a.consequent LIMIT {ctx.limit}")
    frame = ctx.run(sql)
    chart = charts.bar_spec(frame, label="consequent", value="lift",
                            title=ctx.t(f"买了{req.item}的用户还会买", f"Buyers of {req.item} also buy"),
                            subtitle=ctx.t("提升度 = 同时购买比例 ÷ 全体买家购买比例", "lift = confidence ÷ share of all buyers"),
                            value_title=ctx.t("提升度", "lift"), value_format=".2f",
                            tooltip=["confidence", "both_buyers"]) if len(frame) else None
    if frame.empty:
        finding = ctx.t(f"{ctx.when()}，买过{req.item}的用户中没有足够的共同购买（至少 {MIN_DISPLAY_BOTH} 人）。",
                        f"Not enough shared purchases with {req.item} (at least {MIN_DISPLAY_BOTH} buyers), {ctx.when()}.")
    else:
        top = frame.iloc[0]
        most = frame.loc[frame["both_buyers"].idxmax()]
        if ctx.en:
            finding = (f"{ctx.when().capitalize()}, of the {F.n(top.antecedent_buyers, 'en')} buyers of {req.item}, "
                       f"{F.pct(top.confidence)} also bought {top.consequent}, {F.times(top.lift, 'en')} the rate among all buyers "
                       f"(the strongest lift).")
            if most.consequent != top.consequent:
                finding += (f" The most bought alongside is {most.consequent} ({F.n(most.both_buyers, 'en')} buyers, "
                            f"{F.pct(most.confidence)}).")
        else:
            finding = (f"{ctx.when()}，{F.n(top.antecedent_buyers, 'zh')} 位买过{req.item}的用户中，关联最强的是{top.consequent}："
                       f"{F.pct(top.confidence)} 也买了它，是全体买家购买比例的 {F.times(top.lift, 'zh')}。")
            if most.consequent != top.consequent:
                finding += f"一起购买人数最多的是{most.consequent}（{F.n(most.both_buyers, 'zh')} 人，{F.pct(most.confidence)}）。"
    definition = _definition(ctx, "lift", ("置信度 / 提升度", f"置信度 = 同时买过 X 和 Y 的买家 ÷ 买过 X 的买家；提升度 = 置信度 ÷（买过 Y 的买家 ÷ 全部买家）。只列出共同买家 ≥ {MIN_DISPLAY_BOTH} 的组合。"),
                             ("confidence / lift", f"confidence = buyers of X and Y ÷ buyers of X; lift = confidence ÷ (buyers of Y ÷ all buyers); pairs with ≥ {MIN_DISPLAY_BOTH} shared buyers."),
                             "both_buyers / antecedent_buyers; confidence / (consequent_buyers / total_buyers)")
    return (frame, chart, finding, {"ratio_columns": ["confidence"], "multiple_columns": ["lift"],
                                    "extra_counts": [MIN_DISPLAY_BOTH]}, [definition])


def _prediction_refusal(ctx: _Ctx) -> None:
    ctx.refuse_merchant("购买预测基于全平台的行为数据，商户账号不能查看",
                        "purchase predictions use platform-wide behaviour that merchant accounts cannot see")


def _prediction_definition(ctx: _Ctx) -> Definition:
    return _definition(ctx, "preference_score", ("偏好得分", "协同过滤（品类间共现的 item-kNN）预测的下一次购买偏好份额，0–1，每位用户所有品类之和为 1。"),
                       ("preference score", "next-purchase preference share from collaborative filtering (item-kNN over co-occurrence), 0–1, summing to 1 over a user's items."),
                       "user_next_category.score (chatbi/profiles/recommender.py)")


def _next_audience(ctx: _Ctx) -> Handled:
    _prediction_refusal(ctx)
    req = ctx.request
    assert req.item
    frame = ctx.run(f"""
        SELECT n.user_id, n.category AS predicted_next_category, n.score, n.rank,
               CAST(count(*) OVER () AS INTEGER) AS audience_size
        FROM user_next_category n
        WHERE n.category = {quote(req.item)} AND n.rank <= {AUDIENCE_RANK}
        ORDER BY n.score DESC, n.user_id""")
    ctx.notes.append(ctx.t(
        f"预测基于截至画像构建日的购买、收藏、加购和浏览；人群 = {req.item} 排在预测品类前 {AUDIENCE_RANK} 的用户。"
        f"可作为文案人群：predicted_next_category = {req.item}。",
        f"Predicted from purchases, favourites, carts and views up to the profile build; audience = users with "
        f"{req.item} among their top {AUDIENCE_RANK} predicted categories. Usable as a copy segment: "
        f"predicted_next_category = {req.item}."))
    user = ctx.t("用户", "user")
    chart_frame = frame.head(charts.MAX_BARS).assign(user=[f"{user} {int(u)}" for u in frame["user_id"].head(charts.MAX_BARS)])
    chart = charts.bar_spec(chart_frame, label="user", value="score",
                            title=ctx.t(f"最可能购买{req.item}的用户", f"Users most likely to buy {req.item}"),
                            subtitle=ctx.t("协同过滤偏好得分（前 25 位）", "collaborative-filtering preference score (top 25)"),
                            value_title=ctx.t("偏好得分", "preference score"), value_format=".0%") if len(frame) else None
    if frame.empty:
        finding = ctx.t(f"没有用户的预测品类前 {AUDIENCE_RANK} 包含{req.item}。",
                        f"No user has {req.item} among their top {AUDIENCE_RANK} predicted categories.")
    else:
        top = frame.iloc[0]
        finding = (f"{F.n(top.audience_size, 'en')} users have {req.item} among the categories they are most likely to buy next; "
                   f"the strongest is user {int(top.user_id)} (preference score {F.pct(top.score)})." if ctx.en else
                   f"共有 {F.n(top.audience_size, 'zh')} 位用户接下来最可能购买的品类中包含{req.item}；"
                   f"倾向最强的是用户 {int(top.user_id)}（偏好得分 {F.pct(top.score)}）。")
    return frame, chart, finding, {"ratio_columns": ["score"], "extra_counts": [AUDIENCE_RANK]}, [_prediction_definition(ctx)]


def _user_next(ctx: _Ctx) -> Handled:
    _prediction_refusal(ctx)
    req = ctx.request
    uid = int(req.user_id or 0)
    if req.item_type == "merchant":
        frame = ctx.run(f"""
            SELECT n.rank, n.merchant_id, m.merchant_name, n.score FROM user_next_merchant n
            LEFT JOIN merchants m ON m.merchant_id = n.merchant_id
            WHERE n.user_id = {uid} ORDER BY n.rank""")
        label = "merchant_name"
    else:
        frame = ctx.run(f"SELECT n.rank, n.category, n.score FROM user_next_category n "
                        f"WHERE n.user_id = {uid} ORDER BY n.rank")
        label = "category"
    what = ctx.t("商户" if label == "merchant_name" else "品类", "merchants" if label == "merchant_name" else "categories")
    chart = charts.bar_spec(frame, label=label, value="score",
                            title=ctx.t(f"用户 {uid} 接下来最可能购买的{what}", f"What user {uid} is likely to buy next"),
                            subtitle=ctx.t("协同过滤偏好得分", "collaborative-filtering preference score"),
                            value_title=ctx.t("偏好得分", "preference score"), value_format=".0%") if len(frame) else None
    if frame.empty:
        raise UnclearQuestionError(ctx.t(f"用户 {uid} 没有可用于预测的行为记录。", f"User {uid} has no history to predict from."),
                                   code="user_not_found")
    parts = [f"{r[label]}（{F.pct(r['score'])}）" if not ctx.en else f"{r[label]} ({F.pct(r['score'])})"
             for r in frame.head(3).to_dict("records")]
    finding = (f"User {uid} is most likely to buy next from these {what}: {F.join(parts, 'en')}." if ctx.en else
               f"用户 {uid} 接下来最可能购买的{what}是{F.join(parts, 'zh')}（偏好得分）。")
    return frame, chart, finding, {"ratio_columns": ["score"], "extra_counts": [uid]}, [_prediction_definition(ctx)]


# ---------------------------------------------------------------------------------------
# Journeys
# ---------------------------------------------------------------------------------------

def _journey_notes(ctx: _Ctx) -> None:
    if ctx.role.is_merchant:
        ctx.notes.append(ctx.t("商户账号：只统计本店商品上的行为（搜索不属于任何商户，不计入）。",
                               "Merchant account: only events on the shop's own items (searches belong to no shop)."))


def _funnel_frame(ctx: _Ctx) -> tuple[pd.DataFrame, tuple[str, ...]]:
    _resolve_time(ctx, default_month=True)
    _journey_notes(ctx)
    req = ctx.request
    steps = journeys.FULL_STEPS if req.with_favorite else journeys.DEFAULT_STEPS
    if not req.with_favorite:
        ctx.notes.append(ctx.t("漏斗按 浏览 → 加购 → 购买 的先后顺序计算（用户数）；收藏不是必经步骤，问题提到收藏时才计入。",
                               "Funnel of users in order: view → add to cart → purchase; favourite is optional "
                               "and included only when asked."))
    assert ctx.start and ctx.end
    frame = ctx.run(journeys.funnel_sql(ctx.start, ctx.end, steps=steps, dimension=req.dimension,
                                        language=ctx.language))
    return frame, steps


def _funnel_definition(ctx: _Ctx, steps: tuple[str, ...]) -> Definition:
    labels = journeys.STEP_LABELS["en" if ctx.en else "zh"]
    path = " → ".join(labels[s] for s in steps)
    return _definition(ctx, "funnel", ("转化漏斗", f"{path}：期内按先后顺序完成每一步的去重用户数（每一步发生在上一步之后）；步骤转化率 = 本步 ÷ 上一步，整体转化率 = 本步 ÷ 第一步。"),
                       ("conversion funnel", f"{path}: distinct users completing each step in order within the period; step conversion = step ÷ previous step, overall = step ÷ first step."),
                       "COUNT(DISTINCT user_id) FROM events WHERE event_type = <step> AND event_ts >= <time of the previous step>")


def _dim_title(ctx: _Ctx, dim: str | None) -> str | None:
    if not dim:
        return None
    zh, en = journeys.DIMENSION_TITLES.get(dim, (dim, dim))
    return ctx.t(zh, en)


def _funnel(ctx: _Ctx) -> Handled:
    frame, steps = _funnel_frame(ctx)
    dim = ctx.request.dimension
    chart = charts.funnel_spec(frame, title=ctx.t("转化漏斗", "Conversion funnel"), subtitle=ctx.when(),
                               users_title=ctx.t("用户数", "users"), dimension=dim,
                               dimension_title=_dim_title(ctx, dim), language=ctx.language) if len(frame) else None
    finding = _funnel_finding(ctx, frame, dim)
    return (frame, chart, finding, {"ratio_columns": ["step_conversion", "overall_conversion", "drop_rate"],
                                    "extra_counts": list(range(1, len(steps) + 1))}, [_funnel_definition(ctx, steps)])


def _funnel_finding(ctx: _Ctx, frame: pd.DataFrame, dim: str | None) -> str:
    if frame.empty:
        return ctx.t(f"{ctx.when()}，没有浏览行为。", f"No views, {ctx.when()}.")
    if dim:
        last = frame[frame["step_no"] == frame["step_no"].max()]
        last = last[pd.to_numeric(last["overall_conversion"], errors="coerce").notna()]
        best = last.loc[last["overall_conversion"].idxmax()]
        worst = last.loc[last["overall_conversion"].idxmin()]
        step = best.step_label
        return (f"{ctx.when().capitalize()}, {best[dim]} converts best from first step to {step}: "
                f"{F.pct(best.overall_conversion)} ({F.n(best.users, 'en')} users); {worst[dim]} is lowest at "
                f"{F.pct(worst.overall_conversion)}." if ctx.en else
                f"{ctx.when()}，从第一步到{step}的整体转化率最高的是{best[dim]}：{F.pct(best.overall_conversion)}"
                f"（{F.n(best.users, 'zh')} 人）；最低的是{worst[dim]}，为 {F.pct(worst.overall_conversion)}。")
    first, last = frame.iloc[0], frame.iloc[-1]
    rest = frame.iloc[1:]
    worst = rest.loc[rest["drop_rate"].idxmax()] if len(rest) else None
    parts = [f"{F.n(r.users, ctx.language)} {r.step_label}" if ctx.en else f"{r.step_label} {F.n(r.users, 'zh')} 人"
             for r in frame.itertuples()]
    text = (f"{ctx.when().capitalize()}: {' → '.join(parts)}; overall conversion {F.pct(last.overall_conversion)}."
            if ctx.en else
            f"{ctx.when()}，{' → '.join(parts)}，整体转化率 {F.pct(last.overall_conversion)}。")
    if worst is not None:
        prev = frame.loc[frame["step_no"] == worst.step_no - 1, "step_label"].iloc[0]
        text += (f" The biggest drop is {prev} → {worst.step_label}: {F.n(worst.lost_users, 'en')} users lost "
                 f"({F.pct(worst.drop_rate)})." if ctx.en else
                 f"流失最严重的是 {prev} → {worst.step_label}：流失 {F.n(worst.lost_users, 'zh')} 人（{F.pct(worst.drop_rate)}）。")
    _ = first
    return text


def _dropoff(ctx: _Ctx) -> Handled:
    frame, steps = _funnel_frame(ctx)
    dim = ctx.request.dimension
    chart = charts.funnel_spec(frame, title=ctx.t("各步骤流失", "Drop-off by step"), subtitle=ctx.when(),
                               users_title=ctx.t("用户数", "users"), dimension=dim,
                               dimension_title=_dim_title(ctx, dim), language=ctx.language) if len(frame) else None
    if frame.empty or dim:
        finding = _funnel_finding(ctx, frame, dim)
    else:
        rest = frame.iloc[1:]
        lost = rest.loc[rest["lost_users"].idxmax()]
        rate = rest.loc[rest["drop_rate"].idxmax()]
        prev = {r.step_no: r.step_label for r in frame.itertuples()}
        finding = (f"{ctx.when().capitalize()}, most users are lost between {prev[lost.step_no - 1]} and {lost.step_label}: "
                   f"{F.n(lost.lost_users, 'en')} of {F.n(frame.iloc[0].users, 'en')} who viewed"
                   f" ({F.pct(lost.drop_rate)} of that step)." if ctx.en else
                   f"{ctx.when()}，流失人数最多的一步是 {prev[lost.step_no - 1]} → {lost.step_label}："
                   f"流失 {F.n(lost.lost_users, 'zh')} 人（该步流失率 {F.pct(lost.drop_rate)}）。")
        if rate.step_no != lost.step_no:
            finding += (f" The highest drop rate is {prev[rate.step_no - 1]} → {rate.step_label} ({F.pct(rate.drop_rate)})."
                        if ctx.en else
                        f"流失率最高的一步是 {prev[rate.step_no - 1]} → {rate.step_label}（{F.pct(rate.drop_rate)}）。")
    return (frame, chart, finding, {"ratio_columns": ["step_conversion", "overall_conversion", "drop_rate"],
                                    "extra_counts": list(range(1, len(steps) + 1))}, [_funnel_definition(ctx, steps)])


def _exits(ctx: _Ctx) -> Handled:
    _resolve_time(ctx, default_month=True)
    _journey_notes(ctx)
    assert ctx.start and ctx.end
    frame = ctx.run(journeys.exits_sql(ctx.start, ctx.end, language=ctx.language))
    chart = charts.bar_spec(frame, label="exit_step", value="sessions",
                            title=ctx.t("未购买会话的离开步骤", "Where sessions without a purchase ended"),
                            subtitle=ctx.when(), value_title=ctx.t("会话数", "sessions"),
                            tooltip=["share"]) if len(frame) else None
    if frame.empty:
        finding = ctx.t(f"{ctx.when()}，没有未购买的会话。", f"No sessions without a purchase, {ctx.when()}.")
    else:
        top = frame.iloc[0]
        finding = (f"{ctx.when().capitalize()}, of {F.n(top.sessions_without_purchase, 'en')} sessions without a purchase, "
                   f"{F.pct(top.share)} ended after {top.exit_step} ({F.n(top.sessions, 'en')})." if ctx.en else
                   f"{ctx.when()}，{F.n(top.sessions_without_purchase, 'zh')} 个没有购买的会话中，{F.pct(top.share)} "
                   f"在{top.exit_step}后离开（{F.n(top.sessions, 'zh')} 个）。")
        if len(frame) > 1:
            second = frame.iloc[1]
            finding += (f" Next: after {second.exit_step}, {F.pct(second.share)}." if ctx.en else
                        f"其次是{second.exit_step}后离开，占 {F.pct(second.share)}。")
    definition = _definition(ctx, "exit_step", ("离开步骤", "期内没有购买的会话中，最后一个行为的类型。"),
                             ("exit step", "the type of the last event of sessions without a purchase in the period."),
                             "last event_type per session_id WHERE no 'purchase' event")
    return frame, chart, finding, {"ratio_columns": ["share"]}, [definition]


def _paths(ctx: _Ctx) -> Handled:
    _resolve_time(ctx, default_month=True)
    _journey_notes(ctx)
    assert ctx.start and ctx.end
    before = ctx.request.before_purchase
    frame = ctx.run(journeys.paths_sql(ctx.start, ctx.end, before_purchase=before, limit=ctx.limit,
                                       language=ctx.language))
    title = ctx.t("购买前最常见的行为路径" if before else "最常见的会话路径",
                  "Most common paths before a purchase" if before else "Most common session paths")
    chart = charts.bar_spec(frame, label="path", value="sessions", title=title, subtitle=ctx.when(),
                            value_title=ctx.t("会话数", "sessions"), tooltip=["share", "steps"]) if len(frame) else None
    scope = ctx.t("有购买的会话" if before else "会话", "sessions with a purchase" if before else "sessions")
    if frame.empty:
        finding = ctx.t(f"{ctx.when()}，没有{scope}。", f"No {scope}, {ctx.when()}.")
    else:
        top = frame.iloc[0]
        finding = (f"{ctx.when().capitalize()}, the most common path among {F.n(top.total_sessions, 'en')} {scope} is "
                   f"{top.path}: {F.n(top.sessions, 'en')} sessions ({F.pct(top.share)})." if ctx.en else
                   f"{ctx.when()}，{F.n(top.total_sessions, 'zh')} 个{scope}中最常见的路径是「{top.path}」："
                   f"{F.n(top.sessions, 'zh')} 个会话，占 {F.pct(top.share)}。")
        if len(frame) > 1:
            second = frame.iloc[1]
            finding += (f" Next is {second.path} ({F.pct(second.share)})." if ctx.en else
                        f"其次是「{second.path}」（{F.pct(second.share)}）。")
    definition = _definition(ctx, "session_path", ("会话路径", "一个会话内按时间排列的行为类型，连续重复的行为合并为一步；购买前路径截至会话中的第一次购买。"),
                             ("session path", "a session's event types in time order, consecutive repeats collapsed; paths before a purchase end at the first purchase."),
                             "string_agg(event_type ORDER BY event_ts) per session_id, repeats collapsed")
    return frame, chart, finding, {"ratio_columns": ["share"], "extra_counts": list(range(1, 10))}, [definition]


def _dwell(ctx: _Ctx) -> Handled:
    _resolve_time(ctx, default_month=True)
    _journey_notes(ctx)
    assert ctx.start and ctx.end
    frame = ctx.run(journeys.dwell_sql(ctx.start, ctx.end))
    chart = charts.bar_spec(frame, label="category", value="avg_dwell_seconds",
                            title=ctx.t("各品类浏览停留时长", "Dwell time of views by category"), subtitle=ctx.when(),
                            value_title=ctx.t("平均停留（秒）", "mean dwell (s)"), value_format=".1f",
                            tooltip=["median_dwell_seconds", "p90_dwell_seconds", "views"]) if len(frame) else None
    if frame.empty:
        finding = ctx.t(f"{ctx.when()}，没有浏览停留数据。", f"No view dwell data, {ctx.when()}.")
    else:
        top, low = frame.iloc[0], frame.iloc[-1]
        finding = (f"{ctx.when().capitalize()}, views of {top.category} last longest: mean {top.avg_dwell_seconds:.1f} s, "
                   f"median {top.median_dwell_seconds:.1f} s over {F.n(top.views, 'en')} views; {low.category} is "
                   f"shortest at {low.avg_dwell_seconds:.1f} s." if ctx.en else
                   f"{ctx.when()}，浏览停留最长的品类是{top.category}：平均 {top.avg_dwell_seconds:.1f} 秒，中位数 "
                   f"{top.median_dwell_seconds:.1f} 秒（{F.n(top.views, 'zh')} 次浏览）；最短的是{low.category}，"
                   f"平均 {low.avg_dwell_seconds:.1f} 秒。")
    definition = _definition(ctx, "dwell_seconds", ("停留时长", "view 行为的 dwell_seconds（秒）：平均、中位数和 90 分位。"),
                             ("dwell time", "dwell_seconds of view events: mean, median and 90th percentile."),
                             "AVG / MEDIAN / QUANTILE_CONT(dwell_seconds, 0.9) FROM events WHERE event_type = 'view'")
    return frame, chart, finding, {}, [definition]


_HANDLERS: dict[str, Callable[[_Ctx], Handled]] = {
    "repeat_buyers": _repeat_buyers, "shared_customers": _shared_customers,
    "merchant_network": _merchant_network, "communities": _communities,
    "kol_ranking": _kol_ranking, "kol_preferences": _kol_preferences, "kol_for_item": _kol_for_item,
    "also_bought": _also_bought, "next_audience": _next_audience, "user_next": _user_next,
    "funnel": _funnel, "dropoff": _dropoff, "exits": _exits, "paths": _paths, "dwell": _dwell,
}
