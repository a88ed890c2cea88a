"""The retrieval documents: one per metric, dimension, dimension value and worked example.

Each document has a passage text (embedded into Chroma), exact-match ``terms`` (name, labels,
synonyms, the value and its label) and ``context`` words used only by the lexical ranking
(descriptions; for a value, its dimension's words; for an example, its question; an
example is an exact hit only when the whole question is the same).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from chatbi.retrieval.examples import Example
from chatbi.semantic.models import Dimension, Metric, SemanticLayer, SemanticModel

Kind = Literal["metric", "dimension", "value", "example"]
KINDS: tuple[Kind, ...] = ("metric", "dimension", "value", "example")
FORMAT_VERSION = 1
_NUMERIC = re.compile(r"^[\d.\s]+$")


@dataclass(frozen=True)
class Doc:
    """One retrievable thing. ``name``: metric/dimension name, the value, or the question."""

    id: str
    kind: Kind
    name: str
    text: str  # embedded as a passage
    display: str  # Hit.text
    source: str
    payload: dict[str, Any] = field(default_factory=dict)
    terms: tuple[str, ...] = ()
    context: str = ""


def _unique(words: Sequence[str | None]) -> list[str]:
    seen: list[str] = []
    for word in words:
        word = (word or "").strip()
        if word and word.lower() not in {s.lower() for s in seen}:
            seen.append(word)
    return seen


def _label(label: str, label_en: str | None) -> str:
    return f"{label}（{label_en}）" if label_en and label_en.lower() != label.lower() else label


def _passage(kind: str, label: str, name: str, synonyms: Sequence[str], description: str) -> str:
    words = "、".join(_unique(list(synonyms)))
    return f"{kind} {label} {name.replace('_', ' ')}：{words}。{description}".strip()


def metric_doc(metric: Metric) -> Doc:
    terms = _unique([metric.name, metric.name.replace("_", " "), metric.label, metric.label_en,
                     *metric.synonyms])
    label = _label(metric.label, metric.label_en)
    text = _passage("指标", label, metric.name, metric.synonyms, metric.description)
    payload = {"label": metric.label, "label_en": metric.label_en, "type": metric.type,
               "unit": metric.unit, "format": metric.format, "description": metric.description}
    return Doc(f"metric:{metric.name}", "metric", metric.name, text, f"{label}：{metric.description}",
               "semantic_layer", payload, tuple(terms), metric.description)


def dimension_doc(model: SemanticModel, dim: Dimension) -> Doc:
    terms = _unique([dim.name, dim.name.replace("_", " "), dim.label, dim.label_en, *dim.synonyms])
    label = _label(dim.label, dim.label_en)
    text = _passage("维度", label, dim.name, dim.synonyms, dim.description)
    payload = {"label": dim.label, "label_en": dim.label_en, "type": dim.type, "model": model.name,
               "pii": dim.pii, "description": dim.description}
    return Doc(f"dimension:{dim.name}", "dimension", dim.name, text,
               f"{label}：{dim.description}" if dim.description else label,
               "semantic_layer", payload, tuple(terms), f"{dim.description} {model.description}")


def value_docs(dim: Dimension, values: Sequence[str], source: str) -> list[Doc]:
    """Documents for a dimension's values; a bare number without a label (an R score of 3)
    says nothing on its own and is left out."""
    docs = []
    dim_words = " ".join(_unique([dim.label, dim.label_en, dim.name.replace("_", " "), *dim.synonyms]))
    for value in values:
        label = dim.value_labels.get(value)
        if not label and _NUMERIC.match(value):
            continue
        terms = _unique([value if not _NUMERIC.match(value) else None, label])
        text = f"{value} {label}" if label and label != value else value
        display = f"{value}（{label}，{dim.label}）" if label and label != value else f"{value}（{dim.label}）"
        docs.append(Doc(f"value:{dim.name}:{value}", "value", value, text, display, source,
                        {"dimension": dim.name, "value": value}, tuple(terms), dim_words))
    return docs


def example_doc(example: Example) -> Doc:
    return Doc(f"example:{example.key}", "example", example.question, example.question,
               example.question, example.source,
               {"question": example.question, "semantic_query": example.semantic_query},
               (), example.question)


def build_documents(layer: SemanticLayer, values: Mapping[str, Sequence[str]],
                    examples: Sequence[Example]) -> list[Doc]:
    """All documents, in a stable order: metrics, dimensions, values, examples.

    Values are the warehouse's (``values``) plus any fixed ``values`` the layer declares;
    PII dimensions never have their values indexed.
    """
    docs = [metric_doc(m) for m in layer.metrics]
    docs += [dimension_doc(model, dim) for model, dim in layer.all_dimensions()]
    for _model, dim in layer.all_dimensions():
        if dim.pii:
            continue
        found = [str(v) for v in values.get(dim.name, [])]
        fixed = [v for v in dim.values if v not in found]
        docs += value_docs(dim, [*found, *fixed], "warehouse" if found else "semantic_layer")
    docs += [example_doc(e) for e in examples]
    seen: set[str] = set()
    unique = []
    for doc in docs:
        if doc.id not in seen:
            seen.add(doc.id)
            unique.append(doc)
    return unique


def content_hash(layer: SemanticLayer, docs: Sequence[Doc], model_id: str) -> str:
    """Fingerprint of everything the index is built from (layer, values, examples, model)."""
    digest = hashlib.sha256()
    digest.update(f"format={FORMAT_VERSION};model={model_id}\n".encode())
    digest.update(layer.model_dump_json().encode())
    for doc in docs:
        digest.update(json.dumps([doc.id, doc.text, doc.display, doc.source, doc.payload],
                                 ensure_ascii=False, sort_keys=True, default=str).encode())
    return digest.hexdigest()
