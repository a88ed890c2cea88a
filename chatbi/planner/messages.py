"""User-facing texts of the planner (clarifying questions, refusals, notes) in zh and en."""

from __future__ import annotations

from collections.abc import Sequence

_TEXTS: dict[str, dict[str, str]] = {
    "empty": {
        "zh": "请输入一个问题，例如：上个月各大区的销售额是多少？",
        "en": "Please ask a question, e.g. \"GMV by region last month\".",
    },
    "gibberish": {
        "zh": "没太明白这个问题。可以这样问：上个季度各品类的销售额，或 近30天订单数趋势。",
        "en": "I didn't understand that. Try e.g. \"GMV by category last quarter\" or \"daily orders over the last 30 days\".",
    },
    "need_metric": {
        "zh": "你想看哪个指标？例如：{candidates}。",
        "en": "Which metric do you mean? For example: {candidates}.",
    },
    "unknown_metric": {
        "zh": "语义层里没有「{term}」这个指标。你是指：{candidates}？",
        "en": "The semantic layer has no metric \"{term}\". Did you mean: {candidates}?",
    },
    "unknown_qualifier": {
        "zh": "不认识「{term}」：它不是数据里的维度值，无法只看它的「{metric}」。请换成已有的取值（例如按{options}），或去掉它看整体。",
        "en": "I don't recognise \"{term}\": it is not a value in the data, so I can't compute \"{metric}\" for it alone. Use a known value (e.g. by {options}) or drop it to see the overall figure.",
    },
    "incompatible": {
        "zh": "「{metric}」不能按「{dimension}」拆分或筛选。可以按：{options}。",
        "en": "\"{metric}\" cannot be split or filtered by \"{dimension}\". Try: {options}.",
    },
    "snapshot_time": {
        "zh": "「{metric}」是当前快照（没有时间维度），不能按时间段筛选或看趋势，否则会把今天的数当成那段时间的数。按时间可以看：{candidates}。",
        "en": "\"{metric}\" is a current snapshot with no time dimension: it can't be filtered to a period or trended (that would show today's figure as the period's). For a period, try: {candidates}.",
    },
    "refers_to_nothing": {
        "zh": "「他们/其中」指的是哪些人或对象？前面还没有可以沿用的结果，请把对象说完整，例如：高价值用户的客单价。",
        "en": "Who are \"they\"? There is no earlier answer to refer to; please name them, e.g. \"AOV of high-value users\".",
    },
    "per_period_not_additive": {
        "zh": "「{metric}」是比率或去重计数，「平均每天」不能用总数除以天数得到。可以看按天的趋势，例如：上个月每天的{metric}。",
        "en": "\"{metric}\" is a rate or a distinct count, so a per-day average is not its total over the days. Try the daily trend, e.g. \"daily {metric} last month\".",
    },
    "whose_shop": {
        "zh": "「我们店」是哪一家？当前身份不是商户，请说出商户，例如：商户15的复购率。",
        "en": "Which shop is \"my shop\"? You are not signed in as a merchant; name it, e.g. \"repurchase rate of merchant 15\".",
    },
    "which_shop_name": {
        "zh": "「{term}」可能是这些店铺：{candidates}。你指的是哪一家？回复商户ID即可，例如：{example}。",
        "en": "\"{term}\" may be one of these shops: {candidates}. Which one do you mean? Reply with its merchant id, e.g. {example}.",
    },
    "unparsed_time": {
        "zh": "没看懂时间「{term}」，不会按全部时间去算。可以这样说：上个月、今年、2025年、近30天、今年Q2、3月以来。",
        "en": "I couldn't read the time \"{term}\" and won't silently use all dates. Try: last month, this year, 2025, last 30 days, Q2 this year, since March.",
    },
    "two_periods": {
        "zh": "问题里有两个时间段（「{first}」和「{second}」），但后者既不是前者的上一期，也不是去年同期，我不会只算其中一个。请分开问，或比较上一期/去年同期。",
        "en": "The question names two periods (\"{first}\" and \"{second}\"), but the second is neither the first's previous period nor the same period last year, and I won't answer for just one. Ask for each, or compare with the previous period or last year.",
    },
    "value_unused": {
        "zh": "「{term}」我认出来了，但没法用到这个问题的答案里（它和问的指标对不上）。请换个说法，或把它作为单独的问题来问。",
        "en": "I recognised \"{term}\" but could not use it in this answer (it does not fit the measure asked). Please rephrase, or ask about it separately.",
    },
    "two_asks_one_answer": {
        "zh": "这个问题问了两件事，但我只认出其中一个指标，不想只答一半。请分成两个问题问，或把两个指标都说清楚（例如：商户数和认证商户数）。",
        "en": "This asks two things, but I recognised only one measure and won't answer half of it. Please ask them one at a time, or name both measures (e.g. campaign spend and ROI).",
    },
    "compare_what": {
        "zh": "要比较什么和什么？这个问题只能算出一个数。请说出要比较的两段时间（例如：今年和去年同期）或两组对象（例如：华东和华南、认证和未认证商户）。",
        "en": "Compare what with what? As read, the question gives one number. Name the two periods (e.g. this year vs the same period last year) or the two groups (e.g. East vs South China, certified vs non-certified shops).",
    },
    "each_what": {
        "zh": "要按什么分别看？这个问题只能算出一个合计数。请说出要拆分的维度，例如：各大区、各品类、各渠道、每个商户。",
        "en": "Each of what? As read, the question gives one total. Name what to break it down by, e.g. by region, by category, by channel, per merchant.",
    },
    "ranking_needs_dimension": {
        "zh": "要在什么之间排名？请说出对象或维度，例如：GMV 前 5 的品类、订单最少的 3 个省、哪家商户 GMV 最高。",
        "en": "Rank what? Name the things to rank, e.g. \"top 5 categories by GMV\", \"3 provinces with the fewest orders\", \"which merchant has the highest GMV\".",
    },
    "share_needs_dimension": {
        "zh": "占比要按哪个维度看？例如：按大区、按品类、按渠道。",
        "en": "Share of total by which dimension? E.g. by region, category or channel.",
    },
    "why_needs_metric": {
        "zh": "想分析哪个指标的变化原因？例如：{candidates}。",
        "en": "Which metric's change should I explain? For example: {candidates}.",
    },
    "definition_needs_metric": {
        "zh": "想了解哪个指标的定义？例如：{candidates}。",
        "en": "Which metric's definition do you want? For example: {candidates}.",
    },
    "copy_needs_segment": {
        "zh": "要给哪类用户写文案？例如：高价值用户、流失风险型的女性用户、一线城市用户。",
        "en": "Which customer segment is the copy for? E.g. high-value users, at-risk female users, tier-1 city users.",
    },
    "entity_unknown": {
        "zh": "语义层里没有可以列出{entity}的维度，请换个问法，例如按品类或大区查看。",
        "en": "The semantic layer has no dimension to list {entity}; try by category or region instead.",
    },
    "count_unknown": {
        "zh": "语义层里没有统计{entity}数量的指标。可以看：{candidates}。",
        "en": "The semantic layer has no metric counting {entity}. Available: {candidates}.",
    },
    "refuse_data_change": {
        "zh": "我只能查询和分析数据，不能删除或修改数据。",
        "en": "I can only read and analyse data; I cannot delete or change it.",
    },
    "refuse_sql": {
        "zh": "请用自然语言提问；手写的 SQL 请通过 `chatbi sql` 命令运行，它会经过同样的安全检查。",
        "en": "Please ask in plain language; run hand-written SQL with `chatbi sql`, which applies the same guard.",
    },
    "refuse_injection": {
        "zh": "我不能忽略或泄露我的工作规则。请直接问一个数据问题。",
        "en": "I can't ignore or reveal my operating rules. Please ask a data question.",
    },
    "refuse_role_claim": {
        "zh": "角色由登录账号决定，不能在问题里更改。请直接问数据问题，我会按你当前的角色回答。",
        "en": "Your role comes from your sign-in and can't be changed from a question. Ask the data question itself and I'll answer it for your current role.",
    },
    "refuse_pii": {
        "zh": "出于隐私保护，不能查询手机号、姓名、地址等个人信息。可以看汇总指标，例如各大区的高价值用户数。",
        "en": "For privacy, personal data such as phone numbers, names or addresses can't be queried. Aggregates are fine, e.g. high-value users by region.",
    },
    "unknown_word": {
        "zh": "没看懂「{term}」：语义层的指标、维度和取值里都没有它。你是指：{candidates}？也可以换个说法再问。",
        "en": "I don't know \"{term}\": it is not a metric, dimension or value in the semantic layer. Did you mean: {candidates}? Or rephrase the question.",
    },
    "unknown_word_plain": {
        "zh": "没看懂「{term}」：语义层的指标、维度和取值里都没有它。请换个说法，例如：上个季度各品类的销售额。",
        "en": "I don't know \"{term}\": it is not a metric, dimension or value in the semantic layer. Please rephrase, e.g. \"GMV by category last quarter\".",
    },
    "not_in_data": {
        "zh": "数据里没有{label}（「{term}」），所以无法回答，也不会拿别的数字代替。可以问：{instead}。",
        "en": "The data holds no {label} (\"{term}\"), so I can't answer that and won't substitute another number. You can ask about {instead}.",
    },
    "future_range": {
        "zh": "「{label}」在数据的最新日期 {as_of} 之后，数据里还没有这段时间；也不做预测。可以看截至 {as_of} 的历史和趋势。",
        "en": "\"{label}\" is after the latest data date {as_of}: the data has nothing for that period yet, and I don't forecast. You can see history and trends up to {as_of}.",
    },
    "note_default_time": {"zh": "未指定时间，默认按{label}。", "en": "No time given; defaulting to {label}."},
    "note_all_time": {"zh": "未指定时间，按全部数据计算。", "en": "No time given; using all data."},
    "note_default_metric": {"zh": "未指定指标，按「{metric}」衡量。", "en": "No metric given; measured by \"{metric}\"."},
    "note_default_limit": {"zh": "默认只显示前 {n} 个。", "en": "Showing the top {n} by default."},
    "note_default_channel": {"zh": "未指定渠道，按短信撰写。", "en": "No channel given; writing SMS copy."},
    "note_modifier": {"zh": "「{term}」被理解为修饰词，指标按「{metric}」计算。", "en": "\"{term}\" read as a qualifier; the metric is \"{metric}\"."},
    "note_fuzzy": {"zh": "「{term}」按「{metric}」理解。", "en": "Read \"{term}\" as \"{metric}\"."},
    "note_unrecognised": {"zh": "未识别的词已忽略：{term}。", "en": "Ignored words I did not recognise: {term}."},
    "note_people_as_buyers": {"zh": "按这个维度数人，数的是买过的人：用「{metric}」。", "en": "Counting people by this means the people who bought: using \"{metric}\"."},
    "note_owner_dimension": {"zh": "「{said}」按「{used}」理解（数的对象自己的{said}）。", "en": "Read \"{said}\" as \"{used}\" (the {said} of what is counted)."},
    "note_rate_floor": {"zh": "比率排名只比较{base}不少于 {n} 的对象（样本太小的比率不参与）。", "en": "The rate ranking leaves out groups with fewer than {n} in \"{base}\" (too small to rank)."},
    "note_same_entities": {"zh": "沿用上一问的 {n} 个对象（不再截取前 N 行）。", "en": "Kept the same {n} entities as the previous answer (not cut at N rows)."},
    "note_snapshot_now": {"zh": "这是当前快照指标，按现在的数回答，不沿用上一问的时间范围。", "en": "This metric is a current snapshot: answered as of now, without the previous question's period."},
    "note_followup": {"zh": "基于上一个问题调整。", "en": "Adjusted the previous question."},
}


def text(key: str, language: str, **values: str) -> str:
    """The message ``key`` in ``language`` (zh or en) with ``values`` filled in."""
    template = _TEXTS[key]["zh" if language == "zh" else "en"]
    return template.format(**values)


def join(items: Sequence[str], language: str) -> str:
    return ("、" if language == "zh" else ", ").join(items)
