"""A semantic layer built in Python with the metric and dimension names the real layer uses,
and dimension values like the demo warehouse's. Used by the planner tests."""

from __future__ import annotations

from typing import Any

from chatbi.semantic.models import Dimension, Entity, Measure, Metric, SemanticLayer, SemanticModel

VALID = "status <> 'cancelled'"


def _dim(name: str, label: str, label_en: str, *synonyms: str, type: str = "categorical", **extra: Any) -> Dimension:
    return Dimension(name=name, type=type, expr=name, label=label, label_en=label_en, synonyms=list(synonyms), **extra)  # type: ignore[arg-type]


def _user_dims() -> list[Dimension]:
    return [
        _dim("region", "大区", "region", "地区", "区域", "买家大区", index_values=True),
        _dim("province", "省份", "province", "省", index_values=True),
        _dim("city", "城市", "city", index_values=True),
        _dim("city_tier", "城市等级", "city tier", "城市线级", "线级", index_values=True),
        _dim("gender", "性别", "gender", index_values=True),
        _dim("age_band", "年龄段", "age band", "年龄", "age", index_values=True),
        _dim("value_tier", "价值分层", "value tier", "用户价值", "价值等级", index_values=True),
        _dim("lifecycle_stage", "生命周期", "lifecycle stage", "生命周期阶段", index_values=True),
        _dim("rfm_segment", "RFM分群", "RFM segment", "RFM分层", index_values=True),
        _dim("price_sensitivity", "价格敏感度", "price sensitivity", index_values=True),
        _dim("signup_channel", "注册渠道", "signup channel", index_values=True),
        _dim("favorite_category", "偏好品类", "favorite category", index_values=True),
        _dim("user_tags", "用户标签", "user tags", type="tag", index_values=True),
        _dim("user_id", "用户ID", "user ID"),
        _dim("user_name", "用户姓名", "user name", pii=True),
        _dim("signup_date", "注册日期", "signup date", type="time", grains=["day", "week", "month", "quarter", "year"]),
    ]


def build_layer() -> SemanticLayer:
    """Orders, order lines, users, merchants, products, events and campaigns."""
    orders = SemanticModel(
        name="orders", table="orders", default_time_dimension="order_date",
        entities=[Entity(name="order", type="primary", expr="order_id"),
                  Entity(name="user", type="foreign", expr="user_id"),
                  Entity(name="merchant", type="foreign", expr="merchant_id")],
        dimensions=[
            _dim("order_date", "下单日期", "order date", type="time", grains=["day", "week", "month", "quarter", "year"]),
            _dim("channel", "渠道", "channel", "来源渠道", "流量渠道", "traffic source", index_values=True),
            _dim("device", "设备", "device", "终端", index_values=True),
        ],
        measures=[
            Measure(name="gmv_amount", agg="sum", expr="pay_amount", filter=VALID),
            Measure(name="net_sales_amount", agg="sum", expr="pay_amount", filter="status = 'completed'"),
            Measure(name="valid_orders", agg="count", filter=VALID),
            Measure(name="buyers", agg="count_distinct", expr="user_id", filter=VALID),
            Measure(name="returned_orders", agg="count", filter="status in ('returned','refunded')"),
            Measure(name="disputed_orders", agg="count", filter="is_disputed"),
            Measure(name="repeat_buyers", agg="count_distinct", expr="user_id", filter=VALID, min_occurrences=2),
        ],
    )
    order_lines = SemanticModel(
        name="order_lines", table="order_items", default_time_dimension="order_date",
        entities=[Entity(name="order", type="foreign", expr="order_id"),
                  Entity(name="product", type="foreign", expr="product_id"),
                  Entity(name="merchant", type="foreign", expr="merchant_id")],
        measures=[Measure(name="gmv_amount", agg="sum", expr="allocated_amount"),
                  Measure(name="valid_orders", agg="count_distinct", expr="order_id")],
    )
    users = SemanticModel(
        name="users", table="user_profile", default_time_dimension="signup_date",
        entities=[Entity(name="user", type="primary", expr="user_id")],
        dimensions=_user_dims(),
        measures=[Measure(name="user_cnt", agg="count"), Measure(name="new_user_cnt", agg="count")],
    )
    merchants = SemanticModel(
        name="merchants", table="merchant_profile",
        entities=[Entity(name="merchant", type="primary", expr="merchant_id")],
        dimensions=[
            _dim("merchant_id", "商户ID", "merchant ID"),
            _dim("merchant_name", "商户名称", "merchant name", "商户名", "店铺名"),
            _dim("merchant_region", "商户所在大区", "merchant region", "商户大区", index_values=True),
            _dim("main_category", "主营品类", "main category", index_values=True),
            _dim("merchant_tags", "商户标签", "merchant tags", type="tag", index_values=True),
        ],
        measures=[Measure(name="merchant_cnt", agg="count"), Measure(name="turnover_days", agg="avg", expr="inventory_turnover_days")],
    )
    products = SemanticModel(
        name="products", table="products",
        entities=[Entity(name="product", type="primary", expr="product_id"), Entity(name="merchant", type="foreign", expr="merchant_id")],
        dimensions=[
            _dim("category", "品类", "category", "类目", "分类", "商品类目", index_values=True),
            _dim("brand", "品牌", "brand", index_values=True),
            _dim("style", "款式", "style", index_values=True),
        ],
    )
    events = SemanticModel(
        name="events", table="events", default_time_dimension="event_date",
        entities=[Entity(name="user", type="foreign", expr="user_id")],
        dimensions=[_dim("event_date", "行为日期", "event date", type="time", grains=["day", "week", "month"])],
        measures=[Measure(name="purchasers", agg="count_distinct", expr="user_id", filter="event_type = 'purchase'"),
                  Measure(name="visitors", agg="count_distinct", expr="user_id")],
    )
    campaigns = SemanticModel(
        name="campaigns", table="campaigns", default_time_dimension="campaign_date",
        entities=[Entity(name="campaign", type="primary", expr="campaign_id")],
        dimensions=[_dim("campaign_date", "活动日期", "campaign date", type="time", grains=["day", "month"]),
                    _dim("campaign_channel", "投放渠道", "campaign channel", index_values=True)],
        measures=[Measure(name="campaign_gmv", agg="sum", expr="attributed_gmv"), Measure(name="spend", agg="sum", expr="spend")],
    )
    metrics = [
        Metric(name="gmv", label="销售额", label_en="GMV", measure="gmv_amount", synonyms=["GMV", "成交额", "商品交易总额", "sales", "revenue"], format="currency", unit="元"),
        Metric(name="net_sales", label="净销售额", label_en="net sales", measure="net_sales_amount", format="currency"),
        Metric(name="order_count", label="订单数", label_en="orders", measure="valid_orders", synonyms=["订单量", "单量", "order count", "number of orders"], format="integer"),
        Metric(name="buyer_count", label="买家数", label_en="buyers", measure="buyers", synonyms=["购买用户数", "购买人数", "buyer count", "number of buyers"], format="integer"),
        Metric(name="avg_order_value", label="客单价", label_en="AOV", type="derived", expr="gmv / order_count", metrics=["gmv", "order_count"], synonyms=["average order value", "平均订单金额"], format="currency"),
        Metric(name="return_rate", label="退货率", label_en="return rate", type="ratio", numerator="returned_orders", denominator="valid_orders", format="percent", higher_is_better=False),
        Metric(name="dispute_rate", label="纠纷率", label_en="dispute rate", type="ratio", numerator="disputed_orders", denominator="valid_orders", format="percent", higher_is_better=False),
        Metric(name="repurchase_rate", label="复购率", label_en="repurchase rate", type="ratio", numerator="repeat_buyers", denominator="buyers", synonyms=["repeat purchase rate", "回购率"], format="percent"),
        Metric(name="conversion_rate", label="转化率", label_en="conversion rate", type="ratio", numerator="purchasers", denominator="visitors", synonyms=["购买转化率", "conversion"], format="percent"),
        Metric(name="new_users", label="新用户数", label_en="new users", measure="new_user_cnt", synonyms=["新客数", "新增用户数", "new signups"], format="integer"),
        Metric(name="campaign_roi", label="投资回报率", label_en="campaign ROI", type="ratio", numerator="campaign_gmv", denominator="spend", synonyms=["ROI", "活动ROI"]),
        Metric(name="user_count", label="用户数", label_en="user count", measure="user_cnt", synonyms=["用户数量", "number of users", "用户规模"], format="integer"),
        Metric(name="merchant_count", label="商户数", label_en="merchant count", measure="merchant_cnt", synonyms=["商家数", "number of merchants"], format="integer"),
        Metric(name="inventory_turnover_days", label="库存周转天数", label_en="inventory turnover days", measure="turnover_days", synonyms=["库存周转", "周转天数"], format="days"),
    ]
    return SemanticLayer(models=[orders, order_lines, users, merchants, products, events, campaigns], metrics=metrics)


REGIONS = ["华东", "华南", "华北", "华中", "西南", "西北", "东北"]

VALUES: dict[str, list[Any]] = {
    "region": REGIONS,
    "merchant_region": REGIONS,
    "province": ["浙江", "江苏", "广东", "北京", "四川"],
    "city": ["上海", "杭州", "广州", "深圳", "北京", "成都"],
    "city_tier": [1, 2, 3, 4, 5],
    "gender": ["女", "男"],
    "age_band": ["18-24", "25-34", "35-44", "45-54", "55+"],
    "value_tier": ["高价值", "潜力型", "流失风险型", "一般"],
    "lifecycle_stage": ["新客", "活跃", "沉默", "流失"],
    "rfm_segment": ["重要价值客户", "重要发展客户", "重要保持客户", "重要挽留客户", "一般价值客户", "一般发展客户", "一般保持客户", "一般挽留客户"],
    "price_sensitivity": ["高", "中", "低"],
    "channel": ["抖音", "小红书", "知识社区", "搜索竞价", "微信", "自然流量"],
    "signup_channel": ["抖音", "小红书", "知识社区", "搜索竞价", "微信", "自然流量"],
    "device": ["app", "mini_program", "web"],
    "category": ["中古包", "腕表", "珠宝", "服饰", "家居", "户外", "数码"],
    "favorite_category": ["中古包", "腕表", "珠宝", "服饰", "家居", "户外", "数码"],
    "main_category": ["中古包", "腕表", "珠宝", "服饰", "家居", "户外", "数码"],
    "brand": ["Hermès", "Chanel", "Rolex", "Louis Vuitton"],
    "style": ["经典款", "限量款", "设计师联名", "普通"],
    "merchant_tags": ["高频上新型", "高客单价型", "滞销风险型", "高复购型"],
    "user_tags": ["价格敏感", "品牌忠诚", "夜猫子", "周末购物"],
    "campaign_channel": ["短信", "push", "微信"],
}


def real_layer_values() -> dict[str, list[Any]]:
    """The demo values keyed by the real semantic layer's dimension names."""
    renamed = {"merchant_tags": "merchant_tag", "user_tags": "user_tag", "main_category": "merchant_main_category"}
    values = {renamed.get(k, k): v for k, v in VALUES.items()}
    values["city_tier"] = ["1", "2", "3", "4", "5"]
    values["preferred_channel"] = VALUES["channel"]
    values["merchant_province"] = VALUES["province"]
    values["merchant_city"] = VALUES["city"]
    return values
