"""Reproducible performance figures: ``make bench`` (``python -m benchmarks.run``).

One module per benchmark (``gen``, ``profiles``, ``rfm``, ``questions``, ``sql_vs_pandas``,
``cold_start``, ``llm_prompt``, ``concurrency``, ``others``); each exposes
``run(ctx: Context) -> Section``. ``run.py`` runs them in order and writes
docs/benchmarks.md plus PNG plots under docs/benchmarks/.
"""
