"""A Markdown reference of every metric and dimension (kept in docs/semantic_layer.md)."""

from __future__ import annotations

from chatbi.semantic.catalog import Catalog
from chatbi.semantic.models import SemanticLayer

START = "<!-- reference:start -->"
END = "<!-- reference:end -->"


def _cell(text: str | None) -> str:
    return " ".join((text or "").split()).replace("|", "\\|")


def reference_markdown(layer: SemanticLayer) -> str:
    """Tables of metrics and dimensions with labels, meanings and definitions."""
    catalog = Catalog(layer)
    lines = ["### Metrics", "",
             "| metric | 中文 | type | time dimension | meaning | definition |",
             "| --- | --- | --- | --- | --- | --- |"]
    for m in layer.metrics:
        time_dim = catalog.time_dimension_for(m.name) or "snapshot"
        lines.append(f"| `{m.name}` | {_cell(m.label)} | {m.type} | {time_dim} | {_cell(m.description)} | "
                     f"`{_cell(catalog.metric_definition(m.name).sql)}` |")
    lines += ["", "### Dimensions", "",
              "| dimension | 中文 | model | type | meaning | synonyms |",
              "| --- | --- | --- | --- | --- | --- |"]
    for model, d in layer.all_dimensions():
        kind = d.type + (", PII" if d.pii else "") + (", indexed" if d.index_values else "")
        meaning = d.description or d.label_en or ""
        lines.append(f"| `{d.name}` | {_cell(d.label)} | {model.name} | {kind} | {_cell(meaning)} | "
                     f"{_cell(', '.join(d.synonyms))} |")
    return "\n".join(lines)


def replace_reference(document: str, layer: SemanticLayer) -> str:
    """``document`` with the text between the reference markers regenerated."""
    head, _, rest = document.partition(START)
    _, _, tail = rest.partition(END)
    return f"{head}{START}\n{reference_markdown(layer)}\n{END}{tail}"
