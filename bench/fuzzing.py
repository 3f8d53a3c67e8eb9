"""Scenario fuzzing: mutants of the shipped scenarios, as a new user's mistakes or an attacker's
files would make them, for the fuzz tests (tests/test_fuzz.py) and bench/fuzz.py.

A mutant is bytes. Data-level mutations edit the parsed scenario (delete a key, a wrong type,
NaN/inf/huge/tiny numbers, unicode, a duplicated id, a dangling reference, swapped values) and
dump it again; text-level mutations break the file itself (YAML tricks: self-referencing and
exponential aliases, unsafe tags, deep nesting, duplicate keys; truncation; byte flips; binary
junk; other encodings). Every choice comes from one `random.Random`, so a seed is a case.
`try_case` is the oracle: the loader accepts the file or raises the project's own
`ScenarioError`, and an accepted scenario simulates one decision cycle within its event budget.
"""

from __future__ import annotations

import codecs
import contextlib
import copy
import random
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from planner.rundir import RunManifest
from scenarios import list_scenarios, resolve_scenario
from sim.engine import Simulation
from sim.runner import run_scripted
from sim.scenario import Scenario, ScenarioError, load_scenario
from sim.state import initial_state
from sim.theater import Theater

__all__ = ["SCENARIOS", "mutant", "shipped_data", "simulate_one_cycle", "try_case"]

SCENARIOS = [name for name, _ in list_scenarios()]

#: Values a field may be set to: wrong types, edge and hostile numbers, odd text.
HOSTILE_VALUES: list[Any] = [
    None,
    True,
    "",
    "x",
    "narnia",
    [],
    {},
    [1, 2],
    {"a": 1},
    0,
    -1,
    1,
    0.5,
    -0.0,
    float("nan"),
    float("inf"),
    float("-inf"),
    1e-300,
    1e-9,
    0.001,
    1e6,
    1e20,
    1e300,
    2**63,
    2**100,
    10**30,
    "1e999",
    "\u202etxet\u202c",
    "\U0001f4a3 Zoë 漢字",
    "a" * 5000,
    "<script>alert(1)</script>",
    "${HOME}",
    "{{ 7*7 }}",
]

#: Whole-file tricks appended to (or replacing) a scenario's text.
YAML_TRICKS = [
    "extra: &x [*x]\n",
    "extra: &x {a: *x}\n",
    "a0: &a0 [lol]\n"
    + "".join(f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]\n" for i in range(1, 12)),
    "x: !!python/object/apply:os.system ['echo pwned']\n",
    "x: !!python/name:os.system\n",
    "x: !!binary not-base64!\n",
    "x: !!timestamp 2001-13-45\n",
    "x: 2001-02-30\n",
    "x: " + "[" * 2000 + "]" * 2000 + "\n",
    "x: " + "[" * 60 + "]" * 60 + "\n",
    "id: again\n",
    "? [a, b]\n: c\n",
    "? {a: 1}\n: c\n",
    "x: " + "9" * 5000 + "\n",
    "x: 0x" + "f" * 5000 + "\n",
    "x: 1_000_000_000_000_000_000_000_000\n",
    "<<: {id: merged}\n",
    "%YAML 1.1\n---\n",
    "---\nsecond: document\n",
    "\t tab: indented\n",
    "x: '\n",
    'x: "\\uDEAD"\n',
    'x: "\\x00"\n',
]


@cache
def shipped_data(name: str) -> dict[str, Any]:
    """A shipped scenario, parsed (cached: callers must copy before changing it)."""
    return yaml.safe_load(resolve_scenario(name).read_text(encoding="utf-8"))


def _paths(node: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every path into the data (iteratively; shipped scenarios are shallow anyway)."""
    found = []
    stack = [(node, path)]
    while stack:
        value, here = stack.pop()
        if here:
            found.append(here)
        if isinstance(value, dict):
            stack.extend((v, (*here, k)) for k, v in value.items())
        elif isinstance(value, list):
            stack.extend((v, (*here, i)) for i, v in enumerate(value))
    found.sort(key=repr)  # independent of dict order: a seed is the same case everywhere
    return found


def _get(data: Any, path: tuple[Any, ...]) -> Any:
    for part in path:
        data = data[part]
    return data


def _edit(data: dict[str, Any], rng: random.Random) -> None:
    """One data-level edit, in place."""
    paths = _paths(data)
    path = rng.choice(paths)
    parent, key = _get(data, path[:-1]), path[-1]
    kind = rng.choice(["delete", "value", "value", "duplicate", "reference", "swap", "numeric"])
    if kind == "delete":
        del parent[key]
    elif kind == "value":
        parent[key] = copy.deepcopy(rng.choice(HOSTILE_VALUES))
    elif kind == "numeric":
        numbers = [p for p in paths if isinstance(_get(data, p), int | float)]
        if numbers:
            target = rng.choice(numbers)
            factor = rng.choice([0, -1, 1e-12, 1e-3, 10, 1e3, 1e12, 1e300])
            _get(data, target[:-1])[target[-1]] = _get(data, target) * factor
    elif kind == "duplicate":
        lists = [p for p in paths if isinstance(_get(data, p), list) and _get(data, p)]
        if lists:
            items = _get(data, rng.choice(lists))
            items.append(copy.deepcopy(rng.choice(items)))
    elif kind == "reference":
        strings = [p for p in paths if isinstance(_get(data, p), str)]
        if strings:
            target = rng.choice(strings)
            _get(data, target[:-1])[target[-1]] = rng.choice(["narnia", "", "blue", "red"])
    else:
        other = rng.choice(paths)
        with_parent = _get(data, other[:-1])
        # If one path lies inside the other, nothing is swapped.
        with contextlib.suppress(KeyError, IndexError, TypeError):
            parent[key], with_parent[other[-1]] = with_parent[other[-1]], parent[key]


_DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


def _dump(data: Any) -> str:
    return yaml.dump(data, Dumper=_DUMPER, sort_keys=False, allow_unicode=True)


def _break_text(text: str, rng: random.Random) -> bytes:
    """One text- or byte-level mutation of a scenario file."""
    kind = rng.choice(["trick", "trick", "truncate", "flip", "junk", "encoding", "lines"])
    if kind == "trick":
        trick = rng.choice(YAML_TRICKS)
        return (trick + text if trick.startswith("%") else text + trick).encode("utf-8")
    data = text.encode("utf-8")
    if kind == "truncate":
        return data[: rng.randrange(len(data))]
    if kind == "flip":
        raw = bytearray(data)
        for _ in range(rng.randint(1, 8)):
            raw[rng.randrange(len(raw))] = rng.randrange(256)
        return bytes(raw)
    if kind == "junk":
        junk = bytes(rng.randrange(256) for _ in range(rng.randint(1, 4096)))
        return junk if rng.random() < 0.5 else data + junk
    if kind == "encoding":
        encoding = rng.choice(["utf-16", "utf-16-le", "utf-32", "latin-1", "cp1252", "utf-8-sig"])
        text = text.replace("name: ", "name: Zoë ", 1)
        try:
            encoded = text.encode(encoding, errors="replace")
        except LookupError:
            encoded = data
        return (codecs.BOM_UTF16_BE + encoded) if encoding == "utf-16-le" else encoded
    lines = text.splitlines(keepends=True)
    start = rng.randrange(len(lines))
    chunk = lines[start : start + rng.randint(1, 5)]
    insert_at = rng.randrange(len(lines))
    return "".join(lines[:insert_at] + chunk + lines[insert_at:]).encode("utf-8")


def mutant(seed: int, scenario: str | None = None) -> tuple[str, bytes]:
    """(scenario name, mutated file bytes) for `seed`: 1-3 data edits, then, one time in
    three, a text-level break."""
    rng = random.Random(seed)
    name = scenario or rng.choice(SCENARIOS)
    data = copy.deepcopy(shipped_data(name))
    for _ in range(rng.randint(1, 3)):
        if isinstance(data, dict) and data:
            _edit(data, rng)
    try:
        text = _dump(data)
    except (yaml.YAMLError, ValueError, RecursionError):
        text = _dump(shipped_data(name))
    if rng.random() < 1 / 3:
        return name, _break_text(text, rng)
    return name, text.encode("utf-8")


def simulate_one_cycle(scenario: Scenario, seed: int = 1) -> int:
    """Run the scenario's scripted orders for one decision cycle; returns the events."""
    theater = Theater(scenario)
    world = initial_state(scenario)
    Simulation(scenario, theater, world, seed=seed).initial_sweep()
    end = min(scenario.settings.cycle_hours, scenario.settings.horizon_hours)
    sides = {side.id for side in scenario.sides}
    return run_scripted(scenario, theater, world, 0.0, end, seed, order_sides=sides)


def try_case(path: Path) -> str:
    """ "rejected" (a `ScenarioError`) or "ran" (valid, one cycle simulated); anything else
    propagates: that is a crash."""
    try:
        scenario = load_scenario(path)
    except ScenarioError:
        return "rejected"
    events = simulate_one_cycle(scenario)
    if not 0 <= events <= scenario.settings.max_events:
        raise AssertionError(f"{events} events past the budget")
    return "ran"


def bad_command_lines(folder: Path) -> list[list[str]]:
    """`wargame` argument lists a new user gets wrong (every one must exit 2 with a message,
    before any work); the files they point at are created in `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    a_file = folder / "a_file.txt"
    a_file.write_text("not a folder\n", encoding="utf-8")
    junk = folder / "junk.bin"
    junk.write_bytes(bytes((i * 37 + 11) % 256 for i in range(2000)))
    empty_json = folder / "empty.json"
    empty_json.write_text("{}", encoding="utf-8")
    self_alias = folder / "self_alias.yaml"
    self_alias.write_text("id: x\nextra: &x [*x]\n", encoding="utf-8")
    utf16 = folder / "utf16_junk.yaml"
    utf16.write_bytes("id: [unclosed\n".encode("utf-16"))
    empty_dir = folder / "empty_dir"
    empty_dir.mkdir(exist_ok=True)
    (folder / "bad_calls").mkdir(exist_ok=True)
    (folder / "bad_calls" / "model_calls.jsonl").write_bytes(b"{not json\n")
    other_run = folder / "other_run"  # a folder `wargame run` wrote: not a simulation to resume
    RunManifest(command="run", options={}).save(other_run)
    unwritable = "/proc/ooda-forge-out"  # no one, root included, can make a folder there
    under_file = str(a_file / "sub")
    f, j = str(a_file), str(junk)
    return [
        ["run", "tutorial", "--out", f],
        ["run", "tutorial", "--out", under_file],
        ["run", "tutorial", "--out", unwritable],
        ["run", "tutorial", "--report", "docx"],
        ["run", "tutorial", "--report", "html,docx"],
        ["run", "tutorial", "--checkpoint", str(empty_dir)],
        ["run", "tutorial", "--checkpoint", j],
        ["run", "tutorial", "--checkpoint", str(a_file / "c.sqlite")],
        ["run", "tutorial", "--scheduler", "nonsense"],
        ["run", "tutorial", "--scheduler", "tcp://host:notaport"],
        ["run", "tutorial", "--scheduler", "tcp://host:99999"],
        ["run", "tutorial", "--weights", "nonsense"],
        ["run", "tutorial", "--weights", "p_success=abc"],
        ["run", "tutorial", "--cycles", "0"],
        ["run", "tutorial", "--workers", "0"],
        ["run", "tutorial", "--planner", "nonsense"],
        ["run", "tutorial", "--doctrine", str(folder / "no_such_folder")],
        ["run", "narnia"],
        ["run", str(utf16)],
        ["run", j],
        ["simulate", "tutorial", "--out", f],
        ["simulate", "tutorial", "--out", unwritable],
        ["simulate", "tutorial", "--scheduler", "nonsense"],
        ["simulate", "tutorial", "--replications", "0"],
        ["simulate", "tutorial", "--workers", "0"],
        ["simulate", "tutorial", "--resume", "--out", str(other_run)],
        ["simulate", "tutorial", "--scheduler", "tcp://:8786"],
        ["simulate", j],
        ["validate", str(self_alias)],
        ["validate", str(empty_dir)],
        ["report", str(empty_json)],
        ["report", str(folder / "missing.json")],
        ["report", j],
        ["report", str(empty_json), "--formats", "docx"],
        ["generate", "--out", str(empty_dir)],
        ["generate", "--out", str(a_file / "x.yaml")],
        ["generate", "--units", "1"],
        ["generate", "--units", "100000000"],
        ["generate", "--places", "100000000"],
        ["batch", str(folder / "missing_spec.yaml"), "--out", str(folder / "b")],
        ["batch", j, "--out", str(folder / "b")],
        ["batch-report", str(folder / "no_batch")],
        ["replay", str(empty_dir)],
        ["replay", str(folder / "bad_calls")],
        ["replay", str(folder / "bad_calls"), "--out", f],
        ["batch", str(folder / "missing_spec.yaml"), "--out", f],
    ]
