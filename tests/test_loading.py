"""The loader's steps on hostile input: encodings, size, aliases, nesting, huge literals, and
no import cycle between the schema, the loader, the catalogue and the theater."""

from __future__ import annotations

import ast
import codecs
import tracemalloc
from pathlib import Path

import networkx as nx
import pytest
import yaml

from scenarios import resolve_scenario
from sim.loading import Limits
from sim.scenario import ScenarioError, load_scenario, parse_scenario

ROOT = Path(__file__).resolve().parents[1]
TUTORIAL = resolve_scenario("tutorial")


def _problems(text: str, **kwargs) -> list[tuple[str, str]]:
    with pytest.raises(ScenarioError) as caught:
        parse_scenario(text, source="s.yaml", **kwargs)
    assert caught.value.problems
    return caught.value.problems


def _load_problems(path: Path, **kwargs) -> list[tuple[str, str]]:
    with pytest.raises(ScenarioError) as caught:
        load_scenario(path, **kwargs)
    assert caught.value.problems
    return caught.value.problems


def _with_line(extra: str) -> str:
    """The tutorial with one more top-level line (an unknown field, unless it breaks first)."""
    return TUTORIAL.read_text(encoding="utf-8") + extra


# --- read ---------------------------------------------------------------------------------


@pytest.mark.parametrize("bom", ["utf-8-sig", "utf-16"])
def test_utf8_with_bom_and_utf16_load_like_the_plain_file(tmp_path, bom):
    path = tmp_path / "s.yaml"
    path.write_bytes(TUTORIAL.read_text(encoding="utf-8").encode(bom))
    assert load_scenario(path) == load_scenario(TUTORIAL)


@pytest.mark.parametrize(
    "data, words",
    [
        (b"id: caf\xe9\n", "not UTF-8 text: byte 0xe9"),
        (bytes(range(256)) * 4, "not UTF-8 text"),
        (b"id: a\x00b\n", "NUL byte"),
        (codecs.BOM_UTF32_LE + "id: a\n".encode("utf-32-le"), "UTF-32"),
        (codecs.BOM_UTF16_LE + b"\x00\xd8", "not UTF-16 text"),
    ],
)
def test_text_that_cannot_be_decoded_is_refused_with_the_reason(tmp_path, data, words):
    path = tmp_path / "s.yaml"
    path.write_bytes(data)
    problems = _load_problems(path)
    assert words in problems[0][1]
    assert problems[0][0].startswith(str(path))


def test_the_decoding_error_names_the_line(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_bytes(b"id: a\nname: b\nsummary: caf\xe9\n")
    assert _load_problems(path)[0][0] == f"{path}:3"


def test_a_file_over_the_size_limit_is_refused_and_the_limit_can_be_raised(tmp_path, monkeypatch):
    size = TUTORIAL.stat().st_size
    problems = _load_problems(TUTORIAL, limits=Limits(max_bytes=size - 1))
    assert "larger than" in problems[0][1]
    monkeypatch.setenv("OODA_FORGE_MAX_SCENARIO_BYTES", str(size - 1))
    assert "larger than" in _load_problems(TUTORIAL)[0][1]
    monkeypatch.setenv("OODA_FORGE_MAX_SCENARIO_BYTES", str(size))
    assert load_scenario(TUTORIAL).id == "tutorial"


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="needs /dev/zero")
def test_an_endless_device_is_read_only_up_to_the_limit():
    problems = _load_problems(Path("/dev/zero"), limits=Limits(max_bytes=1_000_000))
    assert "larger than 1,000,000 bytes" in problems[0][1]


def test_a_folder_is_a_scenario_error(tmp_path):
    assert "cannot read file" in _load_problems(tmp_path)[0][1]


# --- parse --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "extra", ["extra: &x [*x]\n", "extra: &x {a: *x}\n", "extra: &x [[1, [*x]]]\n"]
)
def test_an_alias_inside_its_own_anchor_is_refused_without_recursion(extra):
    problems = _problems(_with_line(extra))
    assert "alias refers to a node that contains it" in problems[0][1]
    line = len(TUTORIAL.read_text(encoding="utf-8").splitlines()) + 1
    assert problems[0][0] == f"s.yaml:{line}"


def _laughs(levels: int, fan: int = 10) -> str:
    lines = ["a0: &a0 [lol]"]
    for i in range(1, levels + 1):
        lines.append(f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * fan)}]")
    return "\n".join(lines) + "\n"


def test_billion_laughs_is_refused_before_it_is_expanded():
    text = _laughs(30)  # 10^30 nodes if expanded
    assert len(text) < 6000
    tracemalloc.start()
    try:
        problems = _problems(text)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert "aliases add more than 100,000 nodes" in problems[0][1]
    assert peak < 50 * 1024 * 1024


def test_aliases_within_the_limits_still_work():
    data = yaml.safe_load(TUTORIAL.read_text(encoding="utf-8"))
    shared = data["sides"][0]["mission"].setdefault("constraints", {"notes": ["shared"]})
    data["sides"][1]["mission"]["constraints"] = shared  # dumped as an anchor and an alias
    text = yaml.safe_dump(data, sort_keys=False)
    assert "*id001" in text
    scenario = parse_scenario(text)
    assert scenario.sides[0].mission.constraints == scenario.sides[1].mission.constraints


def test_deep_nesting_is_refused_before_the_composer_recurses():
    problems = _problems("id: " + "[" * 500 + "]" * 500 + "\n")
    assert "nested more than 64 levels deep" in problems[0][1]
    assert problems[0][0] == "s.yaml:1"


@pytest.mark.parametrize("field", ["seed", "horizon_hours"])
def test_an_integer_literal_too_long_to_convert_is_reported_with_its_field(field):
    text = _with_line(f"settings:\n  {field}: {'9' * 5000}\n")
    problems = _problems(text)
    assert any(
        where.endswith(f": settings.{field}") and "integer literal of 5,000 characters" in message
        for where, message in problems
    )


def test_an_impossible_date_is_a_scenario_error():
    problems = _problems(_with_line("summary: 2001-13-45\n"))
    assert "cannot read a value" in problems[0][1]


def test_a_complex_mapping_key_is_a_scenario_error():
    problems = _problems(_with_line("? [a, b]\n: c\n"))
    assert problems  # refused as a problem list, never a TypeError


# --- references ---------------------------------------------------------------------------


def test_duplicate_objective_ids_within_a_side_are_rejected():
    data = yaml.safe_load(TUTORIAL.read_text(encoding="utf-8"))
    side = next(s for s in data["sides"] if s["mission"]["objectives"])
    index = data["sides"].index(side)
    first = side["mission"]["objectives"][0]
    side["mission"]["objectives"].append({**first, "kind": "seize"})
    problems = _problems(yaml.safe_dump(data, sort_keys=False))
    j = len(side["mission"]["objectives"]) - 1
    assert any(
        where.endswith(f"sides[{index}].mission.objectives[{j}].id") and "duplicate" in message
        for where, message in problems
    )


# --- structure ----------------------------------------------------------------------------


def _module_imports() -> nx.DiGraph:
    """Every import between modules of `sim`, function-local ones included."""
    graph: nx.DiGraph = nx.DiGraph()
    for path in (ROOT / "sim").rglob("*.py"):
        parts = path.relative_to(ROOT).with_suffix("").parts
        module = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            for name in names:
                if name.startswith("sim.") and name != module:
                    graph.add_edge(module, name)
    return graph


def test_no_import_cycle_through_the_schema_loader_catalogue_or_theater():
    graph = _module_imports()
    assert graph.has_edge("sim.loading.references", "sim.theater")
    assert graph.has_edge("sim.loading.defaults", "sim.unit_types")
    concerned = {"sim.scenario", "sim.schema", "sim.unit_types", "sim.theater"}
    cycles = [
        cycle
        for cycle in nx.simple_cycles(graph)
        if set(cycle) & concerned or any(m.startswith("sim.loading") for m in cycle)
    ]
    assert cycles == []
