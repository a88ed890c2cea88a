"""Generic language knowledge as precompiled patterns: intent words, ranking, trend,
share, growth, follow-up markers, copy channels, safety rules. Nothing here names a metric
or a dimension of the semantic layer; those come from the lexicon.

All patterns run on normalised (half-width, lower-case) text.
"""

from __future__ import annotations

import re
from typing import Literal

from chatbi.planner.numbers import EN_NUM, NUM
from chatbi.semantic.query import Grain


def _c(pattern: str) -> re.Pattern[str]:
    """Compile with ASCII word boundaries, so ``\\b`` works next to Chinese characters."""
    return re.compile(pattern, re.ASCII)


# ------------------------------------------------------------------ safety
DATA_CHANGE = [
    _c(r"删除|删掉|删了|删光|清空|清除|抹掉|销毁|drop掉"),
    _c(r"(?:修改|更改|更新|篡改|改写|写入|插入|覆盖|重置)(?:一下|掉)?(?:所有|全部|这些|那些|该|这个|一条|的)?(?:订单|数据|表|记录|用户|商户|价格|状态|金额|评分|评价|库存)"),
    _c(r"把.{0,12}(?:订单|记录|状态|价格|数据|表|金额|评分|用户|商户)[^,.?!]{0,12}(?:改成|改为|设为|设置为|更新为|删除|删掉|清空)"),
    _c(r"\b(?:delete|truncate|wipe|erase)\b"),
    _c(r"\b(?:drop|alter)\s+(?:table|database|schema|view|column|index)\b"),
    _c(r"\binsert\s+into\b|\bupdate\s+\w+\s+set\b"),
    _c(r"\b(?:update|modify|remove|overwrite|change)\s+(?:all\s+|every\s+|the\s+)?(?:orders?|records?|rows?|tables?|data|database|prices?|statuse?s?)\b(?!\s+(?:instead|by|per))"),
    _c(r"\b(?:update|modify|overwrite|edit|falsify|set)\s+(?:all\s+|our\s+|the\s+)?(?:gmv|sales|revenue|numbers?|figures?|values?|amounts?|ratings?)\b(?!\s+(?:trend|by|per|instead))"),
]
SQL_TEXT = [
    _c(r"^\s*select\b[\s\S]*\bfrom\b|^\s*with\s+\w+\s+as\s*\("),
    _c(r"^\s*(?:insert\s+into|update\s+\w+\s+set|delete\s+from|drop\s+(?:table|database|view|schema|index)|create\s+(?:or\s+replace\s+)?(?:table|view|database|schema|index)|alter\s+table|truncate\s+(?:table\s+)?\w+|grant|revoke|pragma|attach|detach|install|copy\s+\w+\s+(?:to|from))\b"),
    _c(r"\bselect\b[\s\S]{0,400}\bfrom\s+\w+"),
    _c(r";\s*(?:drop|delete|update|insert|alter|truncate)\b"),
]
INJECTION = _c(
    r"忽略(?:之前|以上|前面|上面|所有)?的?(?:指令|规则|提示|要求|设定)|系统提示词|越狱|"
    r"ignore (?:all |any )?(?:the )?(?:previous|prior|above|earlier) (?:instructions|rules|prompts?)|system prompt|jailbreak"
)
#: a role claimed inside a question (I am the admin now, role=admin, 我是管理员): roles come from the sign-in
ROLE_CLAIM = _c(
    r"我是(?:管理员|超级管理员|admin|平台方)|(?:切换|改|换)(?:成|为|到)?(?:管理员|admin)(?:身份|角色|权限)?|以管理员(?:身份|权限)|"
    r"\bi(?:'m| am) (?:now )?(?:the |an? )?(?:admin|administrator|root|superuser)\b|\bas (?:an? |the )?(?:admin|administrator)\b|"
    r"\brole\s*[:=]\s*[a-z]+|\bswitch (?:me )?to (?:the )?admin\b|\bsudo\b"
)
PII = _c(
    r"手机号|电话号码|联系电话|电话|身份证|住址|家庭地址|收货地址|真实姓名|用户姓名|用户的名字|用户名单和电话|叫什么名字|的名字|名字是什么|"
    r"\bphone(?: numbers?)?\b|\bhome address(?:es)?\b|\bemail address(?:es)?\b|\bid card\b|\breal names?\b|\bfull names? of (?:users|customers|buyers)\b|"
    r"\bnames? of (?:the |our )?(?:top |best |biggest )?(?:users|customers|buyers|shoppers)\b|\bwhat(?:'s| is| are) (?:the |their |his |her )?names?\b"
)

# ------------------------------------------------------------------ intents
DEFINITION_STRONG = _c(
    r"怎么算|怎么计算|咋算|咋计算|怎么算的|是咋算|有什么不同|有啥不同|\bdifference between\b|\bhow (?:is|are|does|do)\b.{1,40}\bdiffer(?:ent)?\b|\bhow exactly\b.{0,40}\b(?:defined|calculated|computed|measured|define|calculate|compute|measure)\b|如何计算|如何算|怎样计算|计算方法|计算方式|计算公式|计算逻辑|口径|定义|什么意思|啥意思|含义|怎么定义|如何定义|怎么统计|如何统计|"
    r"\bhow (?:is|are|do you|do we|does one) .{0,40}\b(?:defined|calculated|computed|measured|define|calculate|compute|measure)\b|"
    r"\bdefinition of\b|\bdefine\b|\bwhat does .{1,40} mean\b|\bmeaning of\b|\bformula (?:for|of)\b|\bhow to calculate\b"
)
#: 净销售额跟GMV啥区别 / difference between A and B: searched on the whole question (区 alone is a region word)
DEFINITION_DIFFERENCE = _c(r"啥区别|什么区别|有何区别|区别是什么|区别在哪|有什么区别|有啥区别|的区别|\bdifference between\b")
#: a turn that says it starts a new subject: never a follow-up (the words themselves are dropped)
NEW_SUBJECT = _c(
    r"^\s*(?:(?:ok(?:ay)?|alright|also|and|btw|by the way|oh|one more thing)[\s,.:;-]*)?"
    r"(?:new (?:topic|question|subject)|different (?:question|topic)|unrelated(?: question)?|separate question|"
    r"another (?:question|thing)|switching gears|changing (?:the )?(?:topic|subject))[\s,.:;!?-]*|"
    r"^\s*(?:好的?|行|嗯|ok)?[\s,，。]*(?:另外问(?:一?下)?|换个(?:问题|话题)|顺便问(?:一?下)?|再问(?:个|一个)问题|对了|问个别的|说点别的)[\s,，。:：]*"
)
#: tier 1 + tier 2 (both together) / 一线二线加起来: the values are one group, not compared
COMBINED = _c(r"加起来|合起来|合计|一起算|算在一起|总共|\bboth together\b|\bcombined\b|\btogether\b|\baltogether\b|\bin total\b")
#: 其中 / of them inside one question: what follows is a part of what came before
OF_THEM = _c(r"其中|这里面|这其中|\bof them\b|\bof those\b|\bamong them\b")
#: 分别 / each: one figure per group is asked (the words both the follow-up rules and the
#: answer-shape check read, each adding its own)
PER_GROUP = r"分别|每个|每一个|每家|\beach\b|\brespectively\b"
#: returns, as a rate / 按比例看: a count asked as its rate
AS_RATE = _c(r"按比例|用比率|看比率|\bas a (?:rate|percentage|percent|%)|\bin (?:percent|percentage) terms\b|\bas (?:a )?%")
DEFINITION_WEAK = _c(r"是什么[?]?$|^什么是|指什么|\bwhat(?:'s| is| are)\s+(?:the\s+)?(?:an?\s+)?")
WHY = _c(
    r"为什么|为何|为啥|咋(?=[^，。?？\s]{0,4}?[少降掉跌涨多低高蹿飙])|怎么(?=[少降掉跌涨蹿](?:了|这么|那么|得))|什么原因|啥原因|原因是什么|的原因|归因|怎么回事|咋回事|"
    r"\bwhy\b|\bwhat caused\b|\bwhat drove\b|\bwhat(?:'s| is|s)? driving\b|原因找一下|找找原因|找下原因|\bwhat(?:'s| is) driving\b|\breasons? (?:for|behind)\b|\broot cause\b|\bexplain (?:the|why)\b"
)
DIRECTION_DOWN = _c(r"掉得|掉了|\btank(?:ed|s)?\b|\bslip(?:ped|ping|s)?\b|下降|下滑|降低|减少|下跌|跌|变差|变低|萎缩|走低|回落|\bdrops?\b|\bdropped\b|\bdecline[sd]?\b|\bfall(?:s|en)?\b|\bfell\b|\bdecrease[sd]?\b|\bdown\b|\bworse\b|\blower\b")
DIRECTION_UP = _c(r"上升|蹿|飙|增长|上涨|提高|增加|提升|变好|走高|涨|\brise[sn]?\b|\brose\b|\bincrease[sd]?\b|\bgrow(?:s|n)?\b|\bgrew\b|\bup\b|\bjump(?:ed|s)?\b|\bhigher\b")
COPY = _c(
    r"文案|营销短信|推广短信|广告语|宣传语|标语|slogan|推文|种草笔记|"
    r"(?:写|整|搞|弄|出|来)(?:一|两|三|四|五|几|\d)?\s*[条个段篇份]?.{0,20}(?:短信|推送|消息|通知|广告|话术|邮件|公众号|push|sms|文案)|"
    r"\bcopy\b|\bcopywriting\b|\bslogans?\b|\btaglines?\b|"
    r"\b(?:write|draft|create|compose|generate)\b.{0,60}\b(?:sms|messages?|texts?|push(?:es)?|notifications?|emails?|posts?|ads?)\b"
)
COPY_CHANNELS: list[tuple[re.Pattern[str], str]] = [
    (_c(r"短信|\bsms\b|\btext messages?\b|\btexts\b"), "sms"),
    (_c(r"推送|\bpush(?:es)?\b|\bnotifications?\b|app通知"), "push"),
    (_c(r"公众号|朋友圈|微信|\bwechat\b"), "wechat"),
    (_c(r"邮件|\be-?mails?\b"), "email"),
    (_c(r"小红书|种草笔记|\bxiaohongshu\b|\brednote\b"), "xiaohongshu"),
]
COPY_COUNT = _c(rf"(?P<n>{NUM})\s*(?:条|个|篇|版|份|句|则|种)|(?P<n2>{NUM})\s+(?:\w+\s+){{0,3}}?(?:messages?|texts?|sms|push(?:es)?|notifications?|variants?|versions?|options?|slogans?|emails?|posts?|lines?|ideas?)\b")
COPY_TOPIC = _c(r"(?:推广|推荐|促销|宣传|主推|关于|介绍|promot(?:e|ing)|about|featuring|for our)\s*(?P<topic>[^,.?!，。]{1,20}?)(?:的|\s*$|[,.?!]|\s+(?:to|for)\b)")

# ------------------------------------------------------------------ query shape
TREND = _c(r"趋势|走势|变化趋势|变化情况|曲线|时间序列|历史变化|\btrends?\b|\bover time\b|\btrajectory\b|\btime series\b|\bhistory\b")
GRAIN_WORDS: list[tuple[re.Pattern[str], Grain]] = [
    (_c(r"按天|按日|每天|每日|日度|逐日|分日|各天|\bdaily\b|\bby day\b|\bper day\b|\beach day\b|\bday by day\b"), "day"),
    (_c(r"按周|每周|周度|逐周|分周|各周|\bweekly\b|\bby week\b|\bper week\b|\beach week\b|\bweek by week\b"), "week"),
    (_c(r"按月|每月|月度|逐月|分月|各月|每个月|按月份|月份|\bmonthly\b|\b(?:by|and|per|each) month\b|\bmonth by month\b|\bmonth over month trend\b"), "month"),
    (_c(r"按季度|每季度|季度|逐季|分季度|各季度|每个季度|按季|\bquarterly\b|\bby quarter\b|\bper quarter\b|\beach quarter\b"), "quarter"),
    (_c(r"按年|每年|年度|逐年|分年|各年|每一年|\byearly\b|\bannual(?:ly)?\b|\bby year\b|\bper year\b|\beach year\b"), "year"),
]
#: 平均每天 / per day on average: the range's total over its days (not a daily series)
PER_PERIOD = _c(
    r"平均每(?:个)?(?P<zh>天|日|周|星期|月)|(?P<zh2>日|周|月)均|每(?:个)?(?P<zh3>天|日|周|月)平均|平均(?:一|每一)(?P<zh4>天|周|个月|月)|一(?P<zh5>天|周|个月)平均|"
    r"\b(?:on )?(?:an )?average,? (?:per|a|each) (?P<en>day|week|month)\b|\bper (?P<en2>day|week|month),? on (?:an )?average\b|"
    r"\b(?:a|each) (?P<en3>day|week|month) on (?:an )?average\b|\baverage (?P<en4>daily|weekly|monthly)\b|\b(?P<en5>daily|weekly|monthly) average\b|"
    r"\baverage\b[a-z' ]{1,40}\b(?:per|a|each) (?P<en6>day|week|month)\b"
)
_PER_UNITS = {"天": "day", "日": "day", "周": "week", "星期": "week", "月": "month", "个月": "month", "day": "day", "week": "week",
              "month": "month", "daily": "day", "weekly": "week", "monthly": "month"}


def per_period_of(text: str) -> Grain | None:
    """The unit of a per-period average said in ``text`` (平均每天 → day), else None."""
    found = PER_PERIOD.search(text)
    if found is None:
        return None
    unit = next(g for g in found.groups() if g)
    return _PER_UNITS[unit]  # type: ignore[return-value]


#: 下单3次以上 / ordered 3+ times / at least 2 orders: people counted by how often they ordered
_TIMES_EN = r"(?P<n2>\d+|twice|two|three|four|five|six|seven|eight|nine|ten)"
ORDERED_AT_LEAST = _c(
    r"(?:下单|购买|买过|买了|买|复购|消费|下过单)\s*(?P<n>\d+|[两二三四五六七八九十])\s*(?:次|单|回|笔)\s*(?P<more>及以上|以上|或以上|或更多|\+|多)?|"
    r"\b(?:ordered|bought|purchased|shopped|ordering|buying)\s+" + _TIMES_EN + r"\s*(?P<plus>\+)?\s*(?:times?)?\s*(?P<more2>or more(?: times)?|and (?:more|above)|\+|plus)?|"
    r"\b(?:at least|more than|over)\s+(?P<n3>\d+|two|three|four|five|six|seven|eight|nine|ten)\s+(?:orders|times)\b|"
    r"\b(?:ordered|bought|purchased|shopped)\b[^.?!;,]{0,60}?\b(?P<once>more than once|at least twice|multiple times|repeatedly)\b"
)
_TIMES_WORDS = {"twice": 2, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9, "ten": 10,
                "两": 2, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9, "十": 10}


def ordered_at_least(text: str) -> tuple[int, tuple[int, int]] | None:
    """(N, span) for "people who ordered at least N times", when said with an "or more";
    "more than N orders" is N + 1. None otherwise."""
    found = ORDERED_AT_LEAST.search(text)
    if found is None:
        return None
    if found["once"]:  # bought from X more than once: the span is the count words only
        return 2, found.span("once")
    said = found["n"] or found["n2"] or found["n3"]
    n = int(said) if said.isdigit() else _TIMES_WORDS.get(said, 0)
    if found["n"] and not found["more"] or found["n2"] and not (found["plus"] or found["more2"]):
        return None  # 买了3次 / ordered three times: exactly, not at least
    if found["n3"] and re.match(r"(?:more than|over)", found[0]):
        n += 1
    return (n, found.span()) if n >= 1 else None


SHARE = _c(r"占比|比列|份额|比重|构成|占多少|占了多少|占几成|几成|百分之几|多大比例|多少比例|比例|分布占比|百分比|"
           r"\bshare\b|\bfraction\b|\bproportion\b|\bpercentage\b|\bpercent of\b|\bwhat\s*%|%\s*of (?:the )?total\b|\bof the total\b|\bbreakdown\b|\bmix\b|\bcomposition\b|\bcontribution\b")
GROWTH_UP = _c(
    r"(?:增长|增速|涨幅|上涨|提升|增加|上升|增幅|成长|涨|增)(?:得|的)?(?:最快|最多|最大|最高|最猛|最狠|最厉害|前)|骤升|飙升|激增|暴涨|猛增|大涨|"
    r"\bfastest[- ]growing\b|\bgrew (?:the )?(?:most|fastest)\b|\bgrew\b[^.?!,]{1,30}?\b(?:the )?(?:most|fastest)\b|\b(?:highest|biggest|largest|fastest|top) (?:%\s*|percentage\s+|relative\s+)?(?:growth|increase|gains?|growers?)\b|\bgrowing (?:the )?fastest\b|\bjumped (?:the )?most\b|\bspiked?\b|\bsurged?\b"
)
GROWTH_DOWN = _c(
    r"(?:下降|下滑|跌幅|减少|降幅|下跌|萎缩|降|掉|跌|少)(?:得|的)?(?:最快|最多|最大|最严重|最猛|最狠|最厉害|前)|骤降|暴跌|锐减|大跌|"
    r"\b(?:declined|dropped|fell|shrank|decreased) (?:the )?(?:most|fastest)\b|\b(?:biggest|largest|fastest|steepest|worst) (?:%\s*|percentage\s+|relative\s+)?(?:drops?|declines?|decreases?|falls?)\b|\bfastest[- ]declining\b"
)
GROWTH_GENERIC = _c(r"增长率|增速|增幅|涨幅|变化率|增长了?多少|\bgrowth\b|\bhow much did .{1,40} grow\b")
SUPER_DESC = _c(
    r"最高|最多|最大|最好|最强|最受欢迎|最畅销|最火|最喜欢|最常|排名靠前|领先|排名前|排行榜?|排名|从高到低|由高到低|降序|排个名|"
    r"\bhighest\b|\bmost\b|\blargest\b|\bbiggest\b|\bbest\b|\bgreatest\b|\btop(?![a-z])|\bleading\b|\brank(?:ed|ing)?\b"
)
SUPER_ASC = _c(r"最拉胯|拉胯|最烂|最菜|从低到高|由低到高|升序|最低|最少|最小|最差|最弱|垫底|排名靠后|倒数|末尾|\blowest\b|\bleast\b|\bsmallest\b|\bworst\b|\bbottom\b|\bfewest\b|\bweakest\b|\bbottom(?![a-z])")
_EN_RANKED = r"highest|lowest|most|fewest|least|largest|smallest|biggest|best|worst|top|bottom"
#: ranking words that judge (good/bad) rather than measure (high/low): with a metric whose
#: higher_is_better is false, "worst" means the highest value
JUDGED_ORDER = _c(r"最好|最差|最强|最弱|best|worst|strongest|weakest")
TOP_N = _c(
    rf"(?:\btop(?![a-z])|\bbottom(?![a-z])|\bbest\b|\bworst\b|前|后|倒数|排名前|最[高低多少大小好差]的?|\bhighest\b|\blowest\b)\s*(?P<n>{NUM})\s*(?:个|名|位|家|大|条|款|种|\b)?"
    rf"|(?P<n2>{NUM})\s*(?:个|家|名|位|款|种|大)(?!月|季度|天|周|年|小时|星期|礼拜)"
    rf"|\b(?P<n3>\d+|{EN_NUM})\b(?=\s*(?:{_EN_RANKED})\b|[^\d.?!]{{0,40}}?\b(?:with|having|that have|that had) the (?:{_EN_RANKED})\b)"
    rf"|\bwhich\s+(?!one\b)(?P<n4>\d+|{EN_NUM})\b(?=[^\d.?!]{{0,40}}?\b(?:{_EN_RANKED})\b)|哪(?P<n5>{NUM})\s*(?:个|家|名|位|款|种|大)"
)
LIST = _c(r"有哪些|是哪些|哪些|有谁|名单|清单|列出|列一下|列举|\blist\b|\bwhich (?:merchants|sellers|users|customers|buyers|shops|stores)\b|\bshow me (?:the |all )?(?:merchants|sellers|users|customers|buyers)\b|\bwho are\b")
COUNT = _c(r"有多少|多少个|多少人|多少家|多少位|几个|几家|几位|人数|有多大|规模多大|多大规模|各多少|分别多少|各有多少|\bhow many\b|\bnumber of\b|\bcount of\b|\bcount\b")
COMPARE = _c(r"\bvs\.?\b|\bversus\b|对比|比较|相比|相较|\bcompared?\b|\bcomparison\b")
_NEGATION_WORDS = (
    r"(?:除了|除去|除|不含|不包括|不包含|排除|剔除|不看|去掉|非|没有|没|不是|不带|未|\bexcluding\b|\bexcept(?: for)?\b|\bother than\b|"
    r"\bwithout\b|\bnon[- ]?|\bnot (?:from|in)\b|\boutside(?: of)?\b|\bnot\b|\bexclude\b)"
)
NEGATION = _c(_NEGATION_WORDS + r"\s*$")  # right before a value: 除了华东 / excluding East China
NEGATION_WORDS = _c(_NEGATION_WORDS)
MY_SHOP = _c(r"我们店|我的店|我家店|本店|咱家店|咱们店|我们的店|我的店铺|我们店铺|我们家店|\bmy (?:shop|store)\b|\bour (?:shop|store)\b")
PEOPLE = _c(r"多少人|几个人|几人|人数|多少位|人有几个|人有多少|的人有几|\bhow many people\b|\bnumber of people\b|\bhow many (?:ppl|folks|persons)\b")
WHICH_SHOP = _c(r"哪家|哪几家|哪一家|几家店|\bwhich (?:shops?|stores?)\b")
WHICH = _c(r"哪个|哪一个|哪些|哪家|哪类|哪款|哪种|哪位|\bwhich\b|\bwhat\b")
PREFERENCE = _c(r"喜欢|偏好|爱买|常买|偏爱|青睐|最常在|最常用|最常去|经常在|\busually (?:buy|shop|order)\b|\bshop (?:the )?most\b|\bprefer\b|\blike\b|\blove\b|\bfavou?rite\b|\bbuy (?:the )?most\b")
MAINLY = _c(r"主要是|主要集中|主要在|分布|构成|画像|\bmostly\b|\bmainly\b|\bdistribution\b|\bdistributed\b")

ENTITY_WORDS: dict[str, re.Pattern[str]] = {
    "merchant": _c(r"商户|商家|卖家|店铺|店家|寄卖方|寄卖商|(?<![商书药])店(?![铺长员])|\bmerchants?\b|\bsellers?\b|\bshops?\b|\bstores?\b|\bvendors?\b"),
    "user": _c(r"用户|买家|客户|顾客|会员|消费者|人群|\busers?\b|\bbuyers?\b|\bcustomers?\b|\bshoppers?\b|\bmembers?\b|\bpeople\b"),
    "kol": _c(r"达人|博主|网红|\bkols?\b|\binfluencers?\b"),
}
#: 花了多少钱 / how much did we spend: whose spending decides the metric (campaigns: spend; people: GMV)
SPEND = _c(r"花了?多少钱?|花了?多少|花费了?多少|花销|开销|\bspen[dt]\b|\bspending\b")
CAMPAIGN_WORDS = _c(r"营销活动|营销|活动|投放|广告|推广|\bcampaigns?\b|\bmarketing\b|\bads?\b|\badvertising\b")

# ------------------------------------------------------------------ numbers on metrics
HAVING = _c(
    r"^\s*(?:的|is|was|are)?\s*(?P<op>超过|大于|高于|多于|不低于|不少于|至少|低于|小于|少于|不超过|不高于|不到|至多|>=|<=|>|<|=|above|over|more than|greater than|higher than|at least|below|under|less than|lower than|at most)"
    r"\s*(?P<num>\d+(?:\.\d+)?)\s*(?P<unit>%|千万|百万|万|亿|千|\bmillion\b|\bmillions\b|\bthousand\b|\bbillion\b|\bmn\b|\bbn\b|k\b|m\b|w\b|元)?"
)
HAVING_OPS = {
    "超过": "gt", "大于": "gt", "高于": "gt", "多于": "gt", ">": "gt", "above": "gt", "over": "gt",
    "more than": "gt", "greater than": "gt", "higher than": "gt",
    "不低于": "gte", "不少于": "gte", "至少": "gte", ">=": "gte", "at least": "gte",
    "低于": "lt", "小于": "lt", "少于": "lt", "不到": "lt", "<": "lt", "below": "lt", "under": "lt",
    "less than": "lt", "lower than": "lt",
    "不超过": "lte", "不高于": "lte", "至多": "lte", "<=": "lte", "at most": "lte", "=": "eq",
}
UNIT_SCALE = {
    "万": 1e4, "亿": 1e8, "千": 1e3, "百万": 1e6, "千万": 1e7, "k": 1e3, "m": 1e6, "w": 1e4, "%": 0.01,
    "thousand": 1e3, "million": 1e6, "millions": 1e6, "mn": 1e6, "billion": 1e9, "bn": 1e9,
}

AGE_RANGE = _c(r"(?P<a>\d{1,2})\s*(?:-|~|到|至|—|–|\bto\b)\s*(?P<b>\d{1,2})\s*(?:岁|周岁|\byears? old\b|\byear-olds?\b)|\baged?\s+(?P<a2>\d{1,2})\s*(?:-|to|–)\s*(?P<b2>\d{1,2})\b")
AGE_OPEN = _c(r"(?P<n>\d{1,2})\s*岁\s*(?P<dir>以上|及以上|以下|及以下|以内|之前|之后)|\b(?P<dir2>over|above|older than|under|below|younger than)\s+(?P<n2>\d{1,2})\b(?!\.\d|\s*(?:%|万|亿|千|百|k\b|m\b|million|thousand|billion|bn\b|orders|元))")
GENERATION = _c(r"(?<!\d)(?P<g>[0-9]0)\s*后")

# ------------------------------------------------------------------ follow-ups
FOLLOWUP_START = _c(
    r"^\s*(?:那么?|那如果|如果换成|换成|换为|改成|改为|改看|换个|只看|仅看|就看|再看|再按|按照?|看看|去掉|不看|加上|再加|再来|再写|分别|"
    r"and\b|what about\b|how about\b|only\b|just\b|now\b|switch to\b|change to\b|same for\b|same but\b|instead\b|by\b|split by\b|break (?:it )?down by\b|drill down\b|remove\b)"
)
FOLLOWUP_END = _c(r"(?:呢|吧|如何|怎么样|怎样)\s*[?]?\s*$|\binstead\b\s*[?.]?\s*$|^\s*(?:and|what about|how about)\b.*[?]?$")
REPLACE_METRIC = _c(r"换成|换为|改成|改为|改看|换个指标|\bswitch to\b|\bchange (?:it |the metric )?to\b|\binstead\b|\buse\b")
REMOVE_FILTER = _c(r"去掉|不看|取消|不限|不要|全部的?|所有的?|\bremove\b|\bwithout\b|\ball (?:regions|channels|categories)\b|\bdrop the\b")

Sentiment = Literal["up", "down"]


def direction_of(text: str) -> Sentiment | None:
    """下降/drop → down, 增长/rise → up (the first one said wins)."""
    down = DIRECTION_DOWN.search(text)
    up = DIRECTION_UP.search(text)
    if down and (up is None or down.start() <= up.start()):
        return "down"
    return "up" if up else None
