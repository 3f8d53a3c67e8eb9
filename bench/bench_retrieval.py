"""Benchmark doctrine retrieval: recall@5, MRR@10, index build time and query latency.

Runs the queries in tests/data/doctrine_eval.yaml against the built-in corpus, prints a table,
and writes (merges) a "retrieval" key into bench/results.json.

Usage: python bench/bench_retrieval.py [--eval PATH] [--results PATH] [--show-misses]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from doctrine import DoctrineIndex, load_corpus  # noqa: E402

DEFAULT_EVAL = ROOT / "tests" / "data" / "doctrine_eval.yaml"
DEFAULT_RESULTS = ROOT / "bench" / "results.json"


def load_eval(path: Path) -> list[dict[str, Any]]:
    """Read the evaluation queries: a list of {query, relevant, held_out?} mappings."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    return list(data["queries"])


def evaluate(index: DoctrineIndex, queries: list[dict[str, Any]], k: int = 5) -> dict[str, Any]:
    """Score the index on the queries.

    Args:
        index: The index under test.
        queries: Mappings with ``query`` and ``relevant`` (list of passage ids).
        k: Cut-off for recall.

    Returns:
        recall@k (mean fraction of relevant ids in the top k), hit rate@k (share of queries with
        at least one relevant id in the top k), MRR@10, per-query latencies and the misses.
    """
    recalls, hits, reciprocal_ranks, latencies, misses = [], [], [], [], []
    for item in queries:
        relevant = set(item["relevant"])
        start = time.perf_counter()
        ranked = [h.id for h in index.search(item["query"], k=max(k, 10))]
        latencies.append(time.perf_counter() - start)
        top = set(ranked[:k])
        recalls.append(len(relevant & top) / len(relevant))
        hits.append(bool(relevant & top))
        rank = next((i for i, pid in enumerate(ranked, start=1) if pid in relevant), None)
        reciprocal_ranks.append(1.0 / rank if rank else 0.0)
        if relevant - top:
            misses.append(
                {"query": item["query"], "missing": sorted(relevant - top), "top": ranked[:k]}
            )
    return {
        f"recall@{k}": statistics.fmean(recalls),
        f"hit_rate@{k}": statistics.fmean(hits),
        "mrr@10": statistics.fmean(reciprocal_ranks),
        "latencies": latencies,
        "misses": misses,
    }


def merge_results(path: Path, key: str, value: dict[str, Any]) -> None:
    """Update one key of a JSON results file, keeping the others, and write it atomically."""
    data: dict[str, Any] = {}
    if path.exists():
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError:
            print(f"warning: {path} is not valid JSON; rewriting it", file=sys.stderr)
    data[key] = value
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--eval", type=Path, default=DEFAULT_EVAL)
    parser.add_argument("--results", type=Path, default=DEFAULT_RESULTS)
    parser.add_argument("--show-misses", action="store_true")
    args = parser.parse_args(argv)

    queries = load_eval(args.eval)
    start = time.perf_counter()
    passages = load_corpus()
    load_s = time.perf_counter() - start
    with tempfile.TemporaryDirectory() as cache:
        start = time.perf_counter()
        index = DoctrineIndex.build(passages, cache_dir=cache)
        build_s = time.perf_counter() - start
        start = time.perf_counter()
        cached = DoctrineIndex.build(passages, cache_dir=cache)
        cached_s = time.perf_counter() - start
        assert cached.from_cache and not index.from_cache
    scores = evaluate(index, queries)
    held_out = [q for q in queries if q.get("held_out")]
    held_out_recall = evaluate(index, held_out)["recall@5"] if held_out else None
    latencies = scores.pop("latencies")
    misses = scores.pop("misses")
    result = {
        "passages": len(passages),
        "queries": len(queries),
        "recall@5": round(scores["recall@5"], 4),
        "hit_rate@5": round(scores["hit_rate@5"], 4),
        "mrr@10": round(scores["mrr@10"], 4),
        "held_out_queries": len(held_out),
        "held_out_recall@5": None if held_out_recall is None else round(held_out_recall, 4),
        "corpus_load_s": round(load_s, 4),
        "index_build_s": round(build_s, 4),
        "index_cached_load_s": round(cached_s, 4),
        "query_latency_median_ms": round(statistics.median(latencies) * 1000, 3),
        "query_latency_p95_ms": round(
            sorted(latencies)[int(0.95 * (len(latencies) - 1))] * 1000, 3
        ),
    }
    width = max(len(k) for k in result)
    print("doctrine retrieval benchmark")
    print("-" * (width + 14))
    for key, value in result.items():
        print(f"{key:<{width}}  {value:>10}")
    if args.show_misses:
        for miss in misses:
            print(f"\nMISS {miss['query']!r}\n  missing {miss['missing']}\n  top     {miss['top']}")
    merge_results(args.results, "retrieval", result)
    print(f"\nwrote 'retrieval' to {args.results}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
