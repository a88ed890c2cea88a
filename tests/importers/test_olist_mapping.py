"""The Olist reference data: complete, unambiguous, consistent with the translation file."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from chatbi.warehouse.importers.olist_mapping import city_key, load_mapping

REGIONS = {"Norte", "Nordeste", "Centro-Oeste", "Sudeste", "Sul"}


def test_every_category_has_a_unique_chinese_name() -> None:
    cats = load_mapping().categories
    assert len(cats) == 73  # 71 translated by Olist + pc_gamer + portateis_cozinha_…
    assert len({c.pt for c in cats}) == len(cats)
    assert len({c.en for c in cats}) == len(cats)
    zh = [c.zh for c in cats] + [load_mapping().uncategorized.zh]
    assert len(set(zh)) == len(zh)
    assert all(any("\u4e00" <= ch <= "\u9fff" for ch in name) for name in zh)


def test_english_names_match_the_translation_file(olist_dir: Path) -> None:
    tr = pd.read_csv(olist_dir / "product_category_name_translation.csv", dtype=str)
    mine = {c.pt: c.en for c in load_mapping().categories}
    assert dict(zip(tr.iloc[:, 0], tr.iloc[:, 1], strict=True)).items() <= mine.items()
    products = pd.read_csv(olist_dir / "olist_products_dataset.csv", dtype=str)
    assert set(products["product_category_name"].dropna()) <= set(mine)


def test_states_regions_and_city_tiers() -> None:
    m = load_mapping()
    assert len(m.states) == 27
    assert {s.region for s in m.states} == REGIONS == set(m.regions)
    sudeste = {s.code for s in m.states if s.region == "Sudeste"}
    assert sudeste == {"SP", "RJ", "MG", "ES"}
    codes = {s.code for s in m.states}
    keys = [(state, city_key(name)) for state, name, _ in m.city_tiers]
    assert len(keys) == len(set(keys))
    assert {state for state, _, _ in m.city_tiers} <= codes
    tiers = {(state, name): tier for state, name, tier in m.city_tiers}
    assert tiers[("SP", "São Paulo")] == 1 and tiers[("RJ", "Rio de Janeiro")] == 1
    assert sum(1 for t in tiers.values() if t == 2) == 25
    assert {tiers[("SP", "Campinas")], tiers[("SP", "Santos")]} == {3, 4}


def test_city_key_folds_accents_case_and_spaces() -> None:
    assert city_key("  São  José dos Campos ") == "sao jose dos campos"
    assert city_key("GOIÂNIA") == "goiania"


def test_order_statuses_cover_olist_and_stay_in_the_contract(olist_dir: Path) -> None:
    from chatbi.warehouse.schema import ORDER_STATUSES

    statuses = load_mapping().order_statuses
    orders = pd.read_csv(olist_dir / "olist_orders_dataset.csv", dtype=str)
    assert set(orders["order_status"]) <= set(statuses)
    assert set(statuses.values()) <= set(ORDER_STATUSES)
    assert statuses["delivered"] == "completed"
    assert statuses["canceled"] == statuses["unavailable"] == "cancelled"
