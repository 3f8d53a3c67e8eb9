"""A non-editable install carries the doctrine corpus, scenarios and base map as package data."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_wheel_installs_and_runs_without_the_source_tree(tmp_path):
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "-q",
            "--no-deps",
            "--no-build-isolation",
            str(ROOT),
            "-w",
            str(tmp_path / "dist"),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    wheel = next((tmp_path / "dist").glob("ooda_forge-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    corpus = [n for n in names if n.startswith("doctrine/corpus/") and n.endswith(".md")]
    assert len(corpus) == len(list((ROOT / "doctrine" / "corpus").glob("*.md")))
    assert "scenarios/tutorial.yaml" in names and "sim/data/countries.gpkg" in names
    target = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(target)
    probe = (
        "import doctrine, scenarios, sim.theater as t;"
        "from sim.scenario import load_scenario;"
        "s = load_scenario(scenarios.resolve_scenario('tutorial'));"
        "print(len(doctrine.load_corpus()), s.id, len(t.load_countries()) > 200,"
        f" doctrine.__file__.startswith({str(target)!r}))"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(target), "PATH": "/usr/bin:/bin"},
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    count, scenario_id, has_map, from_wheel = result.stdout.split()
    assert int(count) == len(corpus) and scenario_id == "tutorial"
    assert has_map == "True" and from_wheel == "True"
