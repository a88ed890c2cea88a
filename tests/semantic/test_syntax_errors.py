"""A YAML syntax error in the real semantic layer is reported alone, with its file and line:
no "unknown measure / entity / dimension" echoes from the files that refer into it."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from chatbi.errors import SemanticLayerError
from chatbi.semantic.loader import load_semantic_layer, load_semantic_layer_uncached

LAYER_DIR = Path(__file__).resolve().parents[2] / "semantic_layer"


@pytest.fixture
def layer(tmp_path: Path) -> Path:
    target = tmp_path / "layer"
    shutil.copytree(LAYER_DIR, target)
    return target


def _break(path: Path, anchor: str, old: str, new: str) -> int:
    """Replace ``old`` by ``new`` on the first line starting with ``anchor`` (stripped);
    returns that line's number."""
    lines = path.read_text(encoding="utf-8").split("\n")
    number = next(i for i, text in enumerate(lines, start=1) if text.strip().startswith(anchor))
    assert old in lines[number - 1]
    lines[number - 1] = lines[number - 1].replace(old, new, 1)
    path.write_text("\n".join(lines), encoding="utf-8")
    return number


def _problems(directory: Path) -> list[str]:
    with pytest.raises(SemanticLayerError) as info:
        load_semantic_layer_uncached(directory)
    assert all(p in info.value.message for p in info.value.problems)
    return list(info.value.problems)


# (file, the line to break, old, new): 10_orders.yaml defines the order entity, order_date and
# gmv that other files refer to; 30_merchants.yaml the merchant entity.
BREAKS = [
    ("10_orders.yaml", "label_en: GMV", "label_en: GMV", "label_en: [GMV"),  # unclosed bracket
    ("10_orders.yaml", "label_en: GMV", "label_en: GMV", 'label_en: "GMV'),  # unclosed quote
    ("10_orders.yaml", "label_en: GMV", "label_en: GMV", "label_en: GMV: x"),  # a colon in a plain value
    ("10_orders.yaml", "- name: order_date", "- name: order_date", "- name: order_date\n       type: oops"),
    ("30_merchants.yaml", "description: 商户（寄卖方）", "description:", "  description:"),  # indentation
]


@pytest.mark.parametrize(("name", "anchor", "old", "new"), BREAKS, ids=[f"{b[0]}:{b[3]}" for b in BREAKS])
def test_a_syntax_error_is_reported_alone(layer: Path, name: str, anchor: str, old: str, new: str) -> None:
    line = _break(layer / name, anchor, old, new)
    problems = _problems(layer)
    assert len(problems) == 1, problems
    assert problems[0].startswith(f"{name}:") and "YAML syntax error" in problems[0]
    reported = int(problems[0].split(":")[1])
    assert line <= reported <= line + 1, problems[0]  # where it broke (or where the parser noticed)


def test_an_unclosed_bracket_points_at_its_line(layer: Path) -> None:
    line = _break(layer / "10_orders.yaml", "label_en: GMV", "label_en: GMV", "label_en: [GMV")
    [problem] = _problems(layer)
    assert problem.startswith(f"10_orders.yaml:{line}: YAML syntax error"), problem
    assert f"line {line + 1}" in problem  # where the parser gave up is named too


def test_every_broken_file_is_listed_and_only_those(layer: Path) -> None:
    _break(layer / "10_orders.yaml", "label_en: GMV", "label_en: GMV", "label_en: [GMV")
    _break(layer / "30_merchants.yaml", "description: 商户（寄卖方）", "description:", "  description:")
    _break(layer / "80_social.yaml", "measure: ", "measure: ", "measure: no_such_measure  # ")  # not syntax
    problems = _problems(layer)
    assert [p.split(":")[0] for p in problems] == ["10_orders.yaml", "30_merchants.yaml"], problems
    assert all("YAML syntax error" in p for p in problems)
    with pytest.raises(SemanticLayerError) as info:  # the cached loader says the same
        load_semantic_layer(layer)
    assert list(info.value.problems) == problems


def test_other_problems_are_reported_when_the_yaml_parses(layer: Path) -> None:
    line = _break(layer / "80_social.yaml", "measure: ", "measure: ", "measure: no_such_measure  # ")
    problems = _problems(layer)
    assert any(p.startswith(f"80_social.yaml:{line}:") and "no_such_measure" in p for p in problems), problems
    assert not any("YAML syntax error" in p for p in problems)
