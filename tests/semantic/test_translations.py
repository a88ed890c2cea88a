"""English value labels (``value_labels_en``) in the semantic layer: validated, consistent."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from chatbi.errors import SemanticLayerError
from chatbi.semantic.loader import load_semantic_layer, load_semantic_layer_uncached

LAYER_DIR = Path(__file__).resolve().parents[2] / "semantic_layer"

BASE = """
semantic_models:
  - name: users
    table: users
    entities:
      - {name: user, type: primary, expr: user_id}
    dimensions:
      - name: region
        expr: region
        label: 大区
        value_labels_en: {华东: East China, 华南: South China}
      - name: gender
        expr: gender
        label: 性别
        values: [女, 男]
        value_labels_en: {女: female, 男: male, 未知: unknown}
    measures:
      - {name: users, agg: count}
  - name: merchants
    table: merchants
    entities:
      - {name: merchant, type: primary, expr: merchant_id}
    dimensions:
      - name: merchant_region
        expr: region
        label: 商户大区
        value_labels_en: {华东: Eastern China, 华南: ""}
    measures:
      - {name: merchants, agg: count}
metrics:
  - {name: user_count, label: 用户数, measure: users}
"""


def test_the_shipped_layer_translates_shared_vocabularies() -> None:
    layer = load_semantic_layer(LAYER_DIR)
    for a, b in (("region", "merchant_region"), ("category", "favorite_category"),
                 ("category", "merchant_main_category"), ("channel", "signup_channel")):
        left, right = layer.dimension(a)[1].value_labels_en, layer.dimension(b)[1].value_labels_en
        assert left and right
        assert {k: v for k, v in left.items() if k in right} == {k: v for k, v in right.items() if k in left}
    assert layer.dimension("region")[1].value_labels_en["华东"] == "East China"


def test_bad_translations_are_reported_with_file_and_line(tmp_path: Path) -> None:
    (tmp_path / "base.yaml").write_text(textwrap.dedent(BASE).lstrip("\n"), encoding="utf-8")
    with pytest.raises(SemanticLayerError) as info:
        load_semantic_layer_uncached(tmp_path)
    text = "\n".join(info.value.problems)
    assert "base.yaml:" in text
    assert "value_labels_en for unknown value(s) 未知" in text
    assert "`华东` is `Eastern China` here but `East China` in dimension `region`" in text
    assert "empty English label for `华南`" in text
