"""Recall on the hand-labelled phrasings (tests/retrieval/phrasings.yaml)."""

from __future__ import annotations

from pathlib import Path

from chatbi.retrieval.evaluate import evaluate, load_phrasings

PHRASINGS = Path(__file__).with_name("phrasings.yaml")


def test_the_labelled_set_is_large_and_names_real_things(layer):
    phrasings = load_phrasings(PHRASINGS)
    assert len(phrasings) >= 150
    assert len({p.question for p in phrasings}) == len(phrasings)
    for p in phrasings:
        assert p.metrics or p.dimensions, p.question
        assert all(layer.has_metric(m) for m in p.metrics), p
        assert all(layer.has_dimension(d) for d in p.dimensions), p
    covered = {m for p in phrasings for m in p.metrics}
    assert len(covered) >= 0.9 * len(layer.metrics)  # nearly every metric is asked for


def test_metric_recall_at_3_is_at_least_98_percent(retriever):
    report = evaluate(retriever, load_phrasings(PHRASINGS))
    misses = "\n".join(f"{q} -> {want}: {got}" for q, want, got in report.misses)
    assert report.metric_recall(3) >= 0.98, misses
    assert report.dimension_recall(3) >= 0.9, misses
