"""Reliability benchmark: thousands of fuzzed scenario files and every bad command line of
issue 18, counting tracebacks, hangs and peak memory.

Run with ``python bench/fuzz.py`` (``--files 2000 --workers 2``; ``--files 0`` runs only the
command lines, ``--skip-cli`` only the files). Each fuzzed file (see
`bench.fuzzing`) must load or be refused with the project's own error, and a valid one must
simulate one cycle within its event budget; anything else is a traceback, and a case still
running after ``--timeout`` seconds is a hang. Each bad command line runs as a real
``wargame`` process and must exit 2 with no traceback. Peak memory is the largest resident set
of any fuzz worker or command process (imports included). Figures are merged into
bench/results.json under "reliability"; crashing files are kept in tests/data/fuzz/.
"""

from __future__ import annotations

import argparse
import collections
import json
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.fuzzing import bad_command_lines, mutant, try_case  # noqa: E402

RESULTS = ROOT / "bench" / "results.json"
CORPUS = ROOT / "tests" / "data" / "fuzz"
_WORKER: dict[str, Any] = {}  # a fuzz worker's folder and time limit, set by `_init`


class _Hang(Exception):
    """A case ran past its time limit."""


def _on_alarm(signum: int, frame: object) -> None:
    raise _Hang


def _init(timeout: int) -> None:
    _WORKER["dir"] = Path(tempfile.mkdtemp(prefix="ooda-fuzz-"))
    _WORKER["timeout"] = timeout
    signal.signal(signal.SIGALRM, _on_alarm)


def _case(seed: int) -> tuple[int, str, str, str, int]:
    """(seed, scenario, outcome, detail, worker's peak RSS in KB) of one fuzzed file."""
    name, data = mutant(seed)
    path = _WORKER["dir"] / f"{seed}.yaml"
    path.write_bytes(data)
    signal.alarm(_WORKER["timeout"])
    try:
        outcome, detail = try_case(path), ""
    except _Hang:
        outcome, detail = "hang", ""
    except Exception as error:  # noqa: BLE001 - counting every crash is the point
        outcome = "traceback"
        detail = "".join(traceback.format_exception_only(error)).strip()[:300]
    finally:
        signal.alarm(0)
    if outcome in ("ran", "rejected"):
        path.unlink()
    return seed, name, outcome, detail, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def fuzz_files(count: int, workers: int, timeout: int) -> dict:
    """Run `count` fuzzed files; crashing ones are copied into the corpus."""
    outcomes: collections.Counter[str] = collections.Counter()
    crashes, peak_kb = [], 0
    started = time.perf_counter()
    with ProcessPoolExecutor(workers, initializer=_init, initargs=(timeout,)) as pool:
        for seed, name, outcome, detail, rss in pool.map(_case, range(count), chunksize=8):
            outcomes[outcome] += 1
            peak_kb = max(peak_kb, rss)
            if outcome in ("traceback", "hang"):
                crashes.append(
                    {"seed": seed, "scenario": name, "outcome": outcome, "detail": detail}
                )
                _, data = mutant(seed)
                (CORPUS / f"found-{seed}.yaml").write_bytes(data)
    return {
        "files": count,
        "loaded_and_simulated": outcomes["ran"],
        "rejected_cleanly": outcomes["rejected"],
        "tracebacks": outcomes["traceback"],
        "hangs": outcomes["hang"],
        "peak_rss_mb": round(peak_kb / 1024),
        "seconds": round(time.perf_counter() - started, 1),
        "crashes": crashes[:20],
    }


def bad_commands(timeout: int) -> dict:
    """Run every bad command line as a real process; each must exit 2 without a traceback."""
    wargame = shutil.which("wargame") or str(Path(sys.executable).parent / "wargame")
    folder = Path(tempfile.mkdtemp(prefix="ooda-cli-"))
    lines = bad_command_lines(folder / "case")
    failures, hangs, tracebacks = [], 0, 0
    for args in lines:
        try:
            done = subprocess.run(
                [wargame, *args], capture_output=True, text=True, timeout=timeout, cwd=folder
            )
        except subprocess.TimeoutExpired:
            hangs += 1
            failures.append({"args": args, "problem": "hang"})
            continue
        if "Traceback" in done.stderr:
            tracebacks += 1
        if done.returncode != 2 or "Traceback" in done.stderr:
            tail = done.stderr.strip().splitlines()[-1:] or [""]
            failures.append({"args": args, "exit": done.returncode, "stderr": tail[0][:200]})
    peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    shutil.rmtree(folder, ignore_errors=True)
    return {
        "command_lines": len(lines),
        "exit_2": len(lines) - len(failures),
        "tracebacks": tracebacks,
        "hangs": hangs,
        "peak_rss_mb": round(peak_kb / 1024),
        "failures": failures,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=2000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--timeout", type=int, default=60, help="seconds before a hang")
    parser.add_argument("--skip-cli", action="store_true")
    args = parser.parse_args()
    results = json.loads(RESULTS.read_text(encoding="utf-8")) if RESULTS.exists() else {}
    figures = results.get("reliability", {})  # a part not run now keeps its last figures
    command = "python bench/fuzz.py " + " ".join(sys.argv[1:])
    bad = 0
    if args.files:
        figures["fuzz"] = {"command": command, **fuzz_files(args.files, args.workers, args.timeout)}
        print(json.dumps({k: v for k, v in figures["fuzz"].items() if k != "crashes"}))
        bad += figures["fuzz"]["tracebacks"] + figures["fuzz"]["hangs"]
    if not args.skip_cli:
        figures["cli"] = {"command": command, **bad_commands(args.timeout * 2)}
        print(json.dumps({k: v for k, v in figures["cli"].items() if k != "failures"}))
        bad += figures["cli"]["tracebacks"] + figures["cli"]["hangs"]
        bad += figures["cli"]["command_lines"] - figures["cli"]["exit_2"]
    results["reliability"] = figures
    RESULTS.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
