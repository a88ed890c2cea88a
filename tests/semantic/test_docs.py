"""docs/semantic_layer.md carries the current metric and dimension reference."""

from __future__ import annotations

import os
from pathlib import Path

from chatbi.semantic.models import SemanticLayer
from chatbi.semantic.reference import replace_reference

DOC = Path(__file__).resolve().parents[2] / "docs" / "semantic_layer.md"


def test_reference_in_docs_is_current(layer: SemanticLayer) -> None:
    text = DOC.read_text(encoding="utf-8")
    updated = replace_reference(text, layer)
    if os.environ.get("UPDATE_SNAPSHOTS") == "1":
        DOC.write_text(updated, encoding="utf-8")
        return
    assert updated == text, "run UPDATE_SNAPSHOTS=1 pytest tests/semantic/test_docs.py to refresh the reference"
    for metric in layer.metrics:
        assert f"`{metric.name}`" in text
    for _, dim in layer.all_dimensions():
        assert f"`{dim.name}`" in text
