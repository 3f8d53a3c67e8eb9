"""Step 2 of loading: parse YAML safely into data, with the line of every key and item.

Only the safe loader is used (no ``!!python`` tags). Before any value is built, the node graph
is bounded: nesting depth, node count, and the nodes aliases add (so a "billion laughs" file
or an alias that contains itself is refused, not expanded), and integer literals too long
to convert are reported with their field path. Every walk is iterative: no input can exhaust
the Python stack.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml

from sim.loading.errors import Limits, Problem, ScenarioError

__all__ = ["Parsed", "Path", "dotted", "parse_yaml"]

#: libyaml's safe loader when available (about ten times faster), else PyYAML's.
_SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_INT_TAG = "tag:yaml.org,2002:int"

#: A field path: mapping keys and sequence indexes from the top of the document.
Path = tuple[Any, ...]


@dataclass
class Parsed:
    """A parsed document: its data, the line of each path, and duplicate keys found."""

    data: Any
    lines: dict[Path, int] = field(default_factory=dict)
    duplicates: list[Path] = field(default_factory=list)

    def line(self, path: Path) -> int:
        """Line of `path`, or of its closest ancestor that the YAML spelled out."""
        path = tuple(p if isinstance(p, int) else str(p) for p in path)
        for end in range(len(path), -1, -1):
            if path[:end] in self.lines:
                return self.lines[path[:end]]
        return 1

    def locate(self, source: str, path: Path) -> str:
        """``file:line: field.path`` of `path`."""
        return f"{source}:{self.line(path)}: {dotted(path) or '<root>'}"


def parse_yaml(text: str, source: str, limits: Limits, what: str = "scenario") -> Parsed:
    """Parse one YAML document within `limits`; the top level must be a mapping of `what`'s
    fields.

    Raises:
        ScenarioError: not YAML, not a mapping, or past a limit.
    """
    try:
        aliases = _check_nesting(text, source, limits)
        loader = _SAFE_LOADER(text)
        try:
            root = loader.get_single_node()
            if not isinstance(root, yaml.MappingNode):
                raise ScenarioError(
                    source, [(source, f"expected a mapping of {what} fields at top level")]
                )
            if aliases:  # without aliases the node graph is a tree the event scan measured
                _check_expansion(root, source, limits)
            parsed = Parsed(data=None)
            problems = _index(root, parsed, source, limits)
            if problems:
                raise ScenarioError(source, problems)
            try:
                parsed.data = loader.construct_document(root)
            except (ValueError, TypeError, OverflowError) as err:
                raise ScenarioError(source, [(source, f"cannot read a value: {err}")]) from None
        finally:
            loader.dispose()
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f"{source}:{mark.line + 1}" if mark else source
        problem = getattr(err, "problem", None) or str(err)
        raise ScenarioError(source, [(where, f"not valid YAML: {problem}")]) from None
    return parsed


def _check_nesting(text: str, source: str, limits: Limits) -> int:
    """Refuse nesting deeper than the limit before composing (the composer recurses), and
    more nodes than the limit; returns the number of aliases."""
    depth = nodes = aliases = 0
    for event in yaml.parse(text, Loader=_SAFE_LOADER):
        if isinstance(event, yaml.NodeEvent):
            nodes += 1
            if isinstance(event, yaml.AliasEvent):
                aliases += 1
            if nodes > limits.max_nodes:
                raise ScenarioError(
                    source, [(source, f"the document holds more than {limits.max_nodes:,} nodes")]
                )
        if isinstance(event, yaml.CollectionStartEvent):
            depth += 1
            if depth > limits.max_depth:
                mark = event.start_mark
                where = f"{source}:{mark.line + 1}" if mark else source
                raise ScenarioError(
                    source, [(where, f"nested more than {limits.max_depth} levels deep")]
                )
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1
    return aliases


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [n for pair in node.value for n in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


def _check_expansion(root: yaml.Node, source: str, limits: Limits) -> None:
    """Refuse an alias that contains itself, and aliases that add more nodes or nesting than
    the limits; sizes are counted over the node graph, never by expanding it."""
    size: dict[int, int] = {}
    depth: dict[int, int] = {}
    on_path: set[int] = set()
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, done = stack.pop()
        key = id(node)
        if done:
            on_path.discard(key)
            children = _children(node)
            cap = limits.max_nodes + limits.max_alias_nodes + 1  # small ints, however many laughs
            size[key] = min(1 + sum(size[id(c)] for c in children), cap)
            depth[key] = 1 + max((depth[id(c)] for c in children), default=0)
            continue
        if key in size:
            continue
        if key in on_path:
            where = f"{source}:{node.start_mark.line + 1}"
            raise ScenarioError(source, [(where, "an alias refers to a node that contains it")])
        on_path.add(key)
        stack.append((node, True))
        for child in _children(node):
            if id(child) in on_path:
                where = f"{source}:{child.start_mark.line + 1}"
                raise ScenarioError(source, [(where, "an alias refers to a node that contains it")])
            if id(child) not in size:
                stack.append((child, False))
    if size[id(root)] - len(size) > limits.max_alias_nodes:
        raise ScenarioError(
            source,
            [(source, f"aliases add more than {limits.max_alias_nodes:,} nodes when expanded")],
        )
    if depth[id(root)] > limits.max_depth + 1:
        raise ScenarioError(
            source, [(source, f"aliases nest values more than {limits.max_depth} levels deep")]
        )


def _index(root: yaml.Node, parsed: Parsed, source: str, limits: Limits) -> list[Problem]:
    """Record the 1-based line of every mapping key and sequence item; report duplicate keys
    and integer literals too long to convert."""
    problems: list[Problem] = []
    stack: list[tuple[yaml.Node, Path]] = [(root, ())]
    while stack:
        node, path = stack.pop()
        parsed.lines.setdefault(path, node.start_mark.line + 1)
        if isinstance(node, yaml.MappingNode):
            seen: set[str] = set()
            for key_node, value_node in node.value:
                key = key_node.value if isinstance(key_node, yaml.ScalarNode) else "<complex key>"
                child = (*path, key)
                if key in seen and isinstance(key_node, yaml.ScalarNode):
                    parsed.duplicates.append(child)
                seen.add(key)
                parsed.lines[child] = key_node.start_mark.line + 1
                stack.append((value_node, child))
        elif isinstance(node, yaml.SequenceNode):
            stack.extend((item, (*path, i)) for i, item in enumerate(node.value))
        elif node.tag == _INT_TAG and len(node.value) > limits.max_int_digits:
            problems.append(
                (
                    parsed.locate(source, path),
                    f"integer literal of {len(node.value):,} characters is out of range",
                )
            )
    return problems


def dotted(path: Path) -> str:
    """``units[2].location`` for ("units", 2, "location")."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out
