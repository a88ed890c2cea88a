"""Recall of the retriever on a labelled set of phrasings (tests and benchmarks).

The set is YAML: ``- {q: 上季度成交额, metrics: [gmv], dimensions: [...]}``. Recall@k of
metrics is the share of (question, expected metric) pairs whose metric is among the top-k
metric hits; the same for dimensions.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from chatbi.retrieval.retriever import Retriever


@dataclass(frozen=True)
class Phrasing:
    question: str
    metrics: tuple[str, ...] = ()
    dimensions: tuple[str, ...] = ()


@dataclass
class RecallReport:
    """Recall per kind and k, per-query latency (ms) and the misses at k = 3."""

    questions: int = 0
    metric_pairs: int = 0
    dimension_pairs: int = 0
    metric_hits: dict[int, int] = field(default_factory=lambda: {1: 0, 3: 0})
    dimension_hits: dict[int, int] = field(default_factory=lambda: {1: 0, 3: 0})
    latencies_ms: list[float] = field(default_factory=list)
    misses: list[tuple[str, str, list[str]]] = field(default_factory=list)

    def metric_recall(self, k: int) -> float:
        return self.metric_hits[k] / self.metric_pairs if self.metric_pairs else 1.0

    def dimension_recall(self, k: int) -> float:
        return self.dimension_hits[k] / self.dimension_pairs if self.dimension_pairs else 1.0


def load_phrasings(path: Path) -> list[Phrasing]:
    items: list[dict[str, Any]] = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or []
    return [Phrasing(str(i["q"]), tuple(i.get("metrics") or ()), tuple(i.get("dimensions") or ()))
            for i in items]


def evaluate(retriever: Retriever, phrasings: list[Phrasing]) -> RecallReport:
    """Search every phrasing for metrics (timed) and, when labelled, dimensions."""
    report = RecallReport(questions=len(phrasings))
    for p in phrasings:
        started = time.perf_counter()
        metrics = [h.name for h in retriever.search(p.question, k=3, kinds=("metric",))]
        report.latencies_ms.append((time.perf_counter() - started) * 1000)
        for name in p.metrics:
            report.metric_pairs += 1
            report.metric_hits[1] += name in metrics[:1]
            report.metric_hits[3] += name in metrics[:3]
            if name not in metrics[:3]:
                report.misses.append((p.question, name, metrics))
        if p.dimensions:
            dims = [h.name for h in retriever.search(p.question, k=3, kinds=("dimension",))]
            for name in p.dimensions:
                report.dimension_pairs += 1
                report.dimension_hits[1] += name in dims[:1]
                report.dimension_hits[3] += name in dims[:3]
                if name not in dims[:3]:
                    report.misses.append((p.question, name, dims))
    return report
