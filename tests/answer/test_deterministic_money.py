"""Money sums are exact: the same question gives the same numbers on every connection and thread."""

from __future__ import annotations

import threading
from decimal import Decimal

from chatbi.answer.pipeline import Pipeline
from chatbi.semantic.compiler import money_measures
from chatbi.semantic.loader import load_semantic_layer

# GMV by category reads the per-item allocation of each order's payment (a DOUBLE column):
# summed as floats in parallel it came back with different tails from one ask to the next.
QUESTIONS = ("各品类的GMV", "各大区各渠道的GMV", "GMV by brand last quarter")


def _ask(settings, question: str) -> list[tuple]:
    pipeline = Pipeline(settings)  # a fresh pipeline: its own DuckDB connection
    try:
        answer = pipeline.ask(question)
        assert answer.error is None, answer.error
        return [tuple(row) for row in answer.rows]
    finally:
        pipeline.close()


def test_the_same_question_gives_identical_money_on_fresh_connections_and_threads(tiny_settings) -> None:
    for question in QUESTIONS:
        results = [_ask(tiny_settings, question) for _ in range(3)]
        threaded: list[list[tuple]] = []
        lock = threading.Lock()

        def run(q: str = question, out: list[list[tuple]] = threaded, guard: threading.Lock = lock) -> None:
            rows = _ask(tiny_settings, q)
            with guard:
                out.append(rows)

        threads = [threading.Thread(target=run) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert len(threaded) == 4
        assert all(rows == results[0] for rows in results + threaded), question
        money = [v for row in results[0] for v in row if isinstance(v, Decimal)]
        assert money, question  # the totals come back as exact decimals…
        assert all(v == v.quantize(Decimal("0.01")) for v in money)  # …in cents


def test_money_measures_are_the_currency_metrics_sums() -> None:
    layer = load_semantic_layer()
    money = money_measures(layer)
    assert {"gmv", "net_sales", "discount_amount", "spend"} <= money
    assert "order_count" not in money and "buyer_count" not in money
