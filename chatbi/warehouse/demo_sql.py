"""SELECT statements that turn staging batches (integer codes) into contract rows.

Each statement reads ``FROM batch`` (the writer substitutes the registered batch name) and
returns the table's columns in contract order. Lists of words are inlined as constants, so
DuckDB composes names, titles and review texts without any per-row Python.
"""

from __future__ import annotations

from chatbi.warehouse.demo_catalog import BRANDS, ITEMS, QUERIES, REVIEW_NOUNS, SHOP_WORDS
from chatbi.warehouse.demo_entities import GIVEN_CHARS, KOL_SUFFIX_FLAT
from chatbi.warehouse.demo_reference import (
    CAMPAIGN_CHANNELS,
    CAMPAIGN_KINDS,
    CAMPAIGN_THEMES_BY_MONTH,
    CATEGORY_NAMES,
    CITY_NAMES,
    CONDITION_SHORT,
    CONDITIONS,
    KOL_ADJECTIVES,
    KOL_NICKS,
    MERCHANT_NICKS,
    MERCHANT_SUFFIXES,
    PHONE_PREFIXES,
    SEGMENTS,
    STYLES,
    SURNAMES,
)
from chatbi.warehouse.demo_reviews import EMOJIS, ENDINGS, OPENERS, SPECIALS
from chatbi.warehouse.demo_writer import pick


def _dup(rank: str, fmt: str) -> str:
    """Suffix for the n-th duplicate of a composed name."""
    return f"CASE WHEN {rank} > 0 THEN {fmt.replace('N', f'({rank} + 1)::VARCHAR')} ELSE '' END"


USERS = f"""
SELECT user_id,
       {pick([s for s, _ in SURNAMES], 'surname')} || {pick(GIVEN_CHARS, 'given1')}
         || coalesce({pick(GIVEN_CHARS, 'given2')}, '') AS user_name,
       {pick(PHONE_PREFIXES, 'phone_prefix')} || lpad(phone_suffix::VARCHAR, 8, '0') AS phone,
       gender, birth_year, province, city, city_tier, region, signup_date, signup_channel
FROM batch
"""

MERCHANTS = f"""
SELECT merchant_id,
       {pick(CITY_NAMES, 'city_code')} || '·' || {pick(MERCHANT_NICKS, 'nick')} || {pick(SHOP_WORDS, 'shop')}
         || {pick(MERCHANT_SUFFIXES, 'suffix')} || {_dup('name_rank', "'(' || N || '号店)'")} AS merchant_name,
       main_category, province, city, region, join_date, is_certified
FROM batch
"""

PRODUCTS = f"""
SELECT product_id, merchant_id, {pick(CATEGORY_NAMES, 'category')} AS category,
       {pick(BRANDS, 'brand')} AS brand,
       {pick(BRANDS, 'brand')} || ' ' || CASE WHEN style = 3 THEN '' ELSE {pick(STYLES, 'style')} || ' ' END
         || {pick(ITEMS, 'item')} || ' ' || {pick(CONDITION_SHORT, 'cond')} AS title,
       {pick(STYLES, 'style')} AS style, {pick(CONDITIONS, 'cond')} AS item_condition,
       list_price, listed_at, status, sold_at
FROM batch
"""

REVIEWS = f"""
SELECT review_id, order_id, user_id, merchant_id, review_ts, rating,
       CASE WHEN special >= 0 THEN {pick(SPECIALS, 'special')}
            ELSE replace({pick(OPENERS, 'opener')}, '{{n}}', {pick(REVIEW_NOUNS, 'noun')}) || '，'
                 || {pick(ENDINGS, 'ending')} || coalesce({pick(EMOJIS, 'emoji')}, '') END AS content
FROM batch
"""

EVENTS = f"""
SELECT event_id, user_id, 'S' || lpad(session_no::VARCHAR, 10, '0') AS session_id, event_ts, event_type,
       product_id, merchant_id, category, channel, dwell_seconds, {pick(QUERIES, 'query')} AS search_query
FROM batch
"""

CAMPAIGNS = f"""
SELECT campaign_id,
       year::VARCHAR || '年' || {pick(CAMPAIGN_THEMES_BY_MONTH, 'theme')} || '·' || {pick(CAMPAIGN_CHANNELS, 'channel_code')}
         || '·' || {pick(SEGMENTS, 'segment')} || {pick(CAMPAIGN_KINDS, 'kind')}
         || {_dup('name_rank', "'·第' || N || '期'")} AS campaign_name,
       channel, start_date, end_date, spend, target_segment, coupon_value
FROM batch
"""

KOLS = f"""
SELECT kol_id,
       {pick(KOL_ADJECTIVES, 'adjective')} || {pick(KOL_NICKS, 'nick')} || {pick(KOL_SUFFIX_FLAT, 'suffix')}
         || {_dup('name_rank', 'N')} AS kol_name,
       platform, domain, follower_count
FROM batch
"""

SELECTS: dict[str, str] = {
    "users": USERS, "merchants": MERCHANTS, "products": PRODUCTS, "reviews": REVIEWS, "events": EVENTS,
    "campaigns": CAMPAIGNS, "kols": KOLS,
}
