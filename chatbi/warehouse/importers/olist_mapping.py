"""Reference data for the Olist import: categories, states, regions, city tiers, statuses.

The data lives in ``olist_mapping.yaml`` (readable, reviewable); this module loads it and
registers it on a DuckDB connection as small temporary tables the import SQL joins to.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

import duckdb
import pyarrow as pa
import yaml


@dataclass(frozen=True)
class Category:
    pt: str
    en: str
    zh: str


@dataclass(frozen=True)
class State:
    code: str
    name: str
    zh: str
    region: str
    capital: str


@dataclass(frozen=True)
class OlistMapping:
    categories: tuple[Category, ...]
    uncategorized: Category
    states: tuple[State, ...]
    regions: dict[str, dict[str, str]]
    city_tiers: tuple[tuple[str, str, int], ...]  # (state code, display name, tier)
    order_statuses: dict[str, str]


def city_key(name: str) -> str:
    """Match key of a city name: no accents, lower case, single spaces (as SQL ``city_key``)."""
    decomposed = unicodedata.normalize("NFD", name)
    plain = "".join(c for c in decomposed if unicodedata.category(c) != "Mn")
    return " ".join(plain.lower().split())


@lru_cache(maxsize=1)
def load_mapping() -> OlistMapping:
    """The parsed ``olist_mapping.yaml``."""
    text = resources.files("chatbi.warehouse.importers").joinpath(
        "olist_mapping.yaml").read_text(encoding="utf-8")
    raw: dict[str, Any] = yaml.safe_load(text)
    states = tuple(State(code, s["name"], s["zh"], s["region"], s["capital"])
                   for code, s in raw["states"].items())
    tiers = raw["city_tiers"]
    cities: dict[tuple[str, str], tuple[str, str, int]] = {}
    for state in states:
        tier = 1 if state.code in tiers["tier1_capitals"] else 2
        cities[(state.code, city_key(state.capital))] = (state.code, state.capital, tier)
    for tier, key in ((3, "tier3"), (4, "tier4")):
        for code, names in tiers[key].items():
            for name in names:
                cities[(code, city_key(name))] = (code, name, tier)
    unc = raw["uncategorized"]
    return OlistMapping(
        categories=tuple(Category(c["pt"], c["en"], c["zh"]) for c in raw["categories"]),
        uncategorized=Category("", unc["en"], unc["zh"]),
        states=states,
        regions={name: dict(r) for name, r in raw["regions"].items()},
        city_tiers=tuple(cities.values()),
        order_statuses=dict(raw["order_statuses"]),
    )


# SQL twin of ``city_key`` (used on the Olist city columns).
CITY_KEY_SQL = "lower(regexp_replace(trim(strip_accents({col})), '\\s+', ' ', 'g'))"

# Title case for Olist's lower-case city names, keeping Portuguese particles lower case.
CITY_TITLE_SQL = (
    "array_to_string(list_transform(string_split({col}, ' '), lambda w: CASE "
    "WHEN w IN ('de', 'da', 'do', 'das', 'dos', 'e', 'd') THEN w "
    "ELSE upper(w[1]) || w[2:] END), ' ')"
)


def register(con: duckdb.DuckDBPyConnection, mapping: OlistMapping | None = None) -> None:
    """Create temp tables map_categories, map_states, map_cities, map_statuses and
    map_uncategorized on ``con``."""
    m = mapping or load_mapping()
    tables = {
        "map_categories": pa.table({
            "pt": [c.pt for c in m.categories], "en": [c.en for c in m.categories],
            "zh": [c.zh for c in m.categories]}),
        "map_states": pa.table({
            "code": [s.code for s in m.states], "name": [s.name for s in m.states],
            "zh": [s.zh for s in m.states], "region": [s.region for s in m.states]}),
        "map_cities": pa.table({
            "state": [c[0] for c in m.city_tiers], "city_key": [city_key(c[1]) for c in m.city_tiers],
            "display": [c[1] for c in m.city_tiers],
            "tier": pa.array([c[2] for c in m.city_tiers], pa.int32())}),
        "map_statuses": pa.table({
            "source": list(m.order_statuses), "status": list(m.order_statuses.values())}),
        "map_uncategorized": pa.table({"en": [m.uncategorized.en], "zh": [m.uncategorized.zh]}),
    }
    for name, table in tables.items():
        con.register(f"_{name}_arrow", table)
        con.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS SELECT * FROM _{name}_arrow")
        con.unregister(f"_{name}_arrow")
