"""Loading and validating the semantic layer: every file loads, names don't clash, and a
broken layer reports every problem with file:line instead of a traceback."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import pytest

from chatbi.errors import SemanticLayerError
from chatbi.semantic.loader import load_semantic_layer, load_semantic_layer_uncached, read_layer
from chatbi.semantic.validation import validate_layer

LAYER_DIR = Path(__file__).resolve().parents[2] / "semantic_layer"


def test_every_yaml_file_loads_without_problems() -> None:
    files = sorted(LAYER_DIR.glob("*.yaml"))
    assert len(files) >= 5
    layer, sources, problems = read_layer(LAYER_DIR)
    assert [str(p) for p in problems] == []
    assert [str(p) for p in validate_layer(layer, sources)] == []
    loaded_from = {sources.where("model", m.name)[0] for m in layer.models}
    loaded_from |= {sources.where("metric", m.name)[0] for m in layer.metrics}
    assert loaded_from | {"access.yaml", "95_not_in_data.yaml"} == {f.name for f in files}
    assert layer.not_in_data, "the concepts outside the data are read"


def test_load_is_cached_until_a_file_changes(tmp_path: Path) -> None:
    for path in LAYER_DIR.glob("*.yaml"):
        (tmp_path / path.name).write_text(path.read_text(encoding="utf-8"), encoding="utf-8")
    first = load_semantic_layer(tmp_path)
    assert load_semantic_layer(tmp_path) is first
    target = tmp_path / "80_social.yaml"
    target.write_text(target.read_text(encoding="utf-8") + "\n# touched\n", encoding="utf-8")
    assert load_semantic_layer(tmp_path) is not first


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


GOOD_BASE = """
semantic_models:
  - name: orders
    table: orders
    default_time_dimension: order_date
    entities:
      - {name: order, type: primary, expr: order_id}
      - {name: user, type: foreign, expr: user_id}
    dimensions:
      - {name: order_date, type: time, expr: CAST(order_ts AS DATE), label: 下单日期}
      - {name: channel, expr: channel, label: 渠道, synonyms: [来源]}
    measures:
      - {name: gmv, agg: sum, expr: pay_amount, filter: "status <> 'cancelled'"}
      - {name: order_count, agg: count}
  - name: users
    table: users
    entities:
      - {name: user, type: primary, expr: user_id}
    dimensions:
      - {name: region, expr: region, label: 大区}
  - name: kols
    table: kols
    entities:
      - {name: kol, type: primary, expr: kol_id}
    measures:
      - {name: kol_count, agg: count}
metrics:
  - {name: gmv, label: GMV, measure: gmv, synonyms: [销售额]}
  - {name: order_count, label: 订单数, measure: order_count}
"""


def test_a_valid_minimal_layer_loads(tmp_path: Path) -> None:
    _write(tmp_path, "base.yaml", GOOD_BASE)
    layer = load_semantic_layer_uncached(tmp_path)
    assert [m.name for m in layer.metrics] == ["gmv", "order_count"]


def test_broken_layer_reports_every_problem_with_file_and_line(tmp_path: Path) -> None:
    _write(tmp_path, "base.yaml", GOOD_BASE)
    _write(tmp_path, "broken.yaml", """
        semantic_models:
          - name: events
            table: events
            entities:
              - {name: user, type: foreign, expr: user_id}
            dimensions:
              - {name: region, expr: region, label: 事件大区}
              - {name: event_type, expr: evnt_type, label: 行为类型, synonyms: [销售额]}
              - {name: event_day, type: time, expr: CAST(event_ts AS DATE), label: 行为日期, grains: [fortnight]}
            measures:
              - {name: events, agg: median}
        metrics:
          - {name: aov, label: 客单价, type: derived, expr: gmv / order_cnt}
          - {name: a, label: A, type: derived, expr: b + 1}
          - {name: b, label: B, type: derived, expr: a * 2}
          - {name: bad_ratio, label: 坏比率, type: ratio, numerator: gmv, denominator: kol_count}
          - {name: lost, label: 丢失, measure: no_such_measure}
          - {name: gmv, label: GMV2, measure: gmv}
          - {name: region, label: 区域指标, measure: order_count}
        """)
    with pytest.raises(SemanticLayerError) as info:
        load_semantic_layer_uncached(tmp_path)
    err = info.value
    assert err.code == "semantic_layer_invalid"
    problems = err.problems
    assert all(re.match(r"^[\w.]+\.yaml:\d+: ", p) for p in problems), problems
    text = "\n".join(problems)
    expected = [
        ("broken.yaml:7:", "dimension `region` is already defined in model `users` (base.yaml:19)"),
        ("broken.yaml:19:", "`region` clashes with dimension `region` (base.yaml:19)"),
        ("broken.yaml:8:", "`销售额` clashes with metric `gmv` (base.yaml:27)"),
        ("broken.yaml:8:", "unknown column `evnt_type` in table `events`"),
        ("broken.yaml:9:", "unknown grain(s) fortnight"),
        ("broken.yaml:11:", "measures.0.agg: Input should be"),
        ("broken.yaml:13:", "unknown metric `order_cnt`"),
        ("broken.yaml:1", "derived metrics form a cycle: a -> b -> a"),
        ("broken.yaml:16:", "`bad_ratio` combines measures on models `orders`, `kols` that share no dimension"),
        ("broken.yaml:17:", "unknown measure `no_such_measure`"),
        ("broken.yaml:18:", "duplicate metric `gmv` (first at base.yaml:27)"),
        ("broken.yaml:19:", "same name as a dimension"),
    ]
    for location, words in expected:
        assert any(p.startswith(location) and words in p for p in problems), f"missing {location} {words}\n{text}"
    assert str(err).count("\n") >= len(expected)  # the message lists the problems too


def test_yaml_syntax_error_is_readable(tmp_path: Path) -> None:
    _write(tmp_path, "base.yaml", GOOD_BASE)
    _write(tmp_path, "syntax.yaml", """
        metrics:
          - name: x
            label: [unclosed
          - name: y
        """)
    with pytest.raises(SemanticLayerError) as info:
        load_semantic_layer_uncached(tmp_path)
    assert len(info.value.problems) == 1
    assert re.match(r"^syntax\.yaml:\d+: YAML syntax error", info.value.problems[0])


def test_unknown_keys_duplicate_keys_and_wrong_shapes(tmp_path: Path) -> None:
    _write(tmp_path, "base.yaml", GOOD_BASE)
    _write(tmp_path, "shapes.yaml", """
        semantic_models:
          - name: reviews
            table: reviews
            colour: blue
            entities:
              - {name: review, type: primary, expr: review_id}
          - name: both
            table: reviews
            sql: SELECT 1 AS x
        metrics:
          - name: rating
            label: 评分
            label: 评分2
            measure: gmv
          - {name: half, label: 半, type: ratio, numerator: gmv}
        extra_section: 1
        """)
    with pytest.raises(SemanticLayerError) as info:
        load_semantic_layer_uncached(tmp_path)
    problems = info.value.problems
    for location, words in [("shapes.yaml:4:", "colour"), ("shapes.yaml:7:", "exactly one of"),
                            ("shapes.yaml:13:", "duplicate key `label`"), ("shapes.yaml:15:", "denominator"),
                            ("shapes.yaml:16:", "extra_section")]:
        assert any(p.startswith(location) and words in p for p in problems), (location, words, problems)


def test_missing_directory_is_an_error_not_a_traceback(tmp_path: Path) -> None:
    with pytest.raises(SemanticLayerError) as info:
        load_semantic_layer_uncached(tmp_path / "nowhere")
    assert "not found" in info.value.problems[0]
