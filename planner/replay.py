"""Record a campaign's model calls and replay the campaign from them, with no model.

`wargame run --record` writes `model_calls.jsonl` in the run folder, one JSON object a line:

- first, the run: ``{"kind": "run", "format": 1, "scenario_yaml": ..., "seed": ...,
  "cycles": ..., "replications": ..., "weights": ..., "doctrine": [...], "planners":
  {side: {"spec": ..., "name": ...}}}`` (what `wargame replay` needs to play it again);
- then, in the order they happened, every request (``"kind": "call"``: side, cycle, the
  request's number in the decision and the attempt; the request's messages and tool names;
  the reply's content and tool calls, or the error's type and message) and every decision
  taken from the clock or an error (``"kind": "decision"``: ``retry`` or ``out_of_time`` and
  its value).

Messages are written as the planner reads them (role, content, tool calls): no key, no
header, no provider metadata. A replay answers each request from the recording after checking
that the request is the one recorded, so it reproduces aar.json exactly (apart from wall
times); a replay that runs out of recorded calls, or asks something else, stops and says
where (`ReplayError`, exit 2).
"""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

from langchain_core.messages import AIMessage, BaseMessage
from pydantic import BaseModel, Field, ValidationError

from planner.llm import CallSite, LLMDrafter, RunStopped, from_record, request_record

__all__ = [
    "RECORD_FILE",
    "CallRecorder",
    "PlannerSpec",
    "ReplayError",
    "ReplayLog",
    "ReplayTransport",
    "RunHeader",
    "aar_differences",
]

RECORD_FILE = "model_calls.jsonl"
FORMAT = 1


class PlannerSpec(BaseModel):
    """A side's chat-model drafter as it was run."""

    spec: str  # e.g. "openai:gpt-4o-mini"
    name: str  # the drafter's name in the record, e.g. "llm:openai:gpt-4o-mini"


class RunHeader(BaseModel):
    """What a replay needs to run the campaign again (the first line of the file)."""

    kind: str = "run"
    format: int = FORMAT
    scenario_yaml: str
    seed: int | None = None
    cycles: int | None = None
    replications: int | None = None
    weights: dict[str, float] | None = None
    doctrine: list[str] = Field(default_factory=list)
    planners: dict[str, PlannerSpec] = Field(default_factory=dict)


class ReplayError(RunStopped):
    """A replay cannot go on: the recording ends, or the run asks for something else."""


class CallRecorder:
    """Writes entries as JSON lines, each flushed at once (a run that dies keeps what it
    did); the first entry written is the run's `RunHeader`."""

    def __init__(self, path: Path):
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._file: IO[str] = path.open("w", encoding="utf-8")

    def write(self, entry: dict[str, Any]) -> None:
        """Append one entry."""
        self._file.write(json.dumps(entry, ensure_ascii=False, sort_keys=True) + "\n")
        self._file.flush()

    def close(self) -> None:
        """Close the file."""
        self._file.close()


class ReplayLog:
    """A recording, read: the header and each decision's entries in order."""

    def __init__(self, path: Path):
        self.path = path
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except OSError as err:
            raise ReplayError(f"{path}: cannot read: {err.strerror or err}") from None
        entries = []
        for number, line in enumerate(lines, start=1):
            try:
                entries.append(json.loads(line))
            except json.JSONDecodeError as err:
                raise ReplayError(f"{path}:{number}: not JSON: {err.msg}") from None
        if not entries or entries[0].get("kind") != "run":
            raise ReplayError(f"{path}:1: not a recording of model calls (no run header)")
        try:
            self.header = RunHeader.model_validate(entries[0])
        except ValidationError as err:
            first = err.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            raise ReplayError(f"{path}:1: {where}: {first['msg']}") from None
        self._queues: dict[tuple[str, int], deque[tuple[int, dict[str, Any]]]] = {}
        for number, entry in enumerate(entries[1:], start=2):
            key = (entry.get("side"), entry.get("cycle"))
            self._queues.setdefault(key, deque()).append((number, entry))

    def next(self, site: CallSite, kind: str) -> dict[str, Any]:
        """The next entry of the decision at `site`, which must be of `kind`."""
        queue = self._queues.get((site.side, site.cycle))
        if not queue:
            raise ReplayError(
                f"{self.path}: the recording has no more model calls at {site} "
                "(the run asked for one more): replay stopped"
            )
        number, entry = queue.popleft()
        if entry.get("kind") != kind:
            raise ReplayError(
                f"{self.path}:{number}: the run asked for a {kind} at {site}, the recording "
                f"has a {entry.get('kind')}: replay stopped"
            )
        return entry

    def unused(self) -> int:
        """Entries no replayed request asked for."""
        return sum(len(queue) for queue in self._queues.values())


class ReplayedModelError(Exception):
    """A recorded error, raised again where it happened."""

    def __init__(self, error: dict[str, Any]):
        super().__init__(error.get("message", ""))
        self.recorded_type = error.get("type", "Error")
        self.recorded_unreachable = bool(error.get("unreachable", False))


class ReplayTransport:
    """Answers a drafter's requests from a recording: no model, no network, no waiting."""

    backoff = {"multiplier": 0.0, "max": 0.0, "exp_base": 2.0, "jitter": 0.0}

    def __init__(self, log: ReplayLog):
        self.log = log

    def send(self, site: CallSite, messages: list[BaseMessage], tools: list[Any]) -> AIMessage:
        """The recorded reply (or error) to this request, if it is the request recorded."""
        entry = self.log.next(site, "call")
        if (entry.get("call"), entry.get("attempt")) != (site.call, site.attempt):
            raise ReplayError(
                f"{self.log.path}: the run asked for attempt {site.attempt} at {site}, the "
                f"recording has attempt {entry.get('attempt')} of call {entry.get('call')}"
            )
        asked = json.loads(json.dumps(request_record(messages, tools), ensure_ascii=False))
        if asked != entry.get("request"):
            raise ReplayError(
                f"{self.log.path}: at {site} the run sent another request than the one "
                "recorded (the code, scenario or doctrine changed since): replay stopped"
            )
        if "error" in entry:
            raise ReplayedModelError(entry["error"])
        return from_record(entry.get("response") or {})

    def decide(self, site: CallSite, name: str, live: Callable[[], bool]) -> bool:
        """The decision the recorded run took here."""
        entry = self.log.next(site, "decision")
        if entry.get("name") != name:
            raise ReplayError(
                f"{self.log.path}: the run took a {name} decision at {site}, the recording "
                f"has a {entry.get('name')} decision: replay stopped"
            )
        return bool(entry.get("value"))

    def drafters(self) -> dict[str, LLMDrafter]:
        """A replaying drafter for each side the recorded run gave a chat model."""
        return {
            side: LLMDrafter(transport=self, spec=planner.spec, name=planner.name)
            for side, planner in self.log.header.planners.items()
        }


def aar_differences(recorded: Any, replayed: Any, path: str = "") -> list[str]:
    """Where two aar.json documents differ, apart from wall times (`wall_seconds`)."""
    if isinstance(recorded, dict) and isinstance(replayed, dict):
        found = []
        for key in sorted(set(recorded) | set(replayed)):
            if key == "wall_seconds":
                continue
            where = f"{path}.{key}" if path else key
            if key not in recorded or key not in replayed:
                found.append(where)
            else:
                found += aar_differences(recorded[key], replayed[key], where)
        return found
    if isinstance(recorded, list) and isinstance(replayed, list):
        if len(recorded) != len(replayed):
            return [f"{path} (length {len(recorded)} vs {len(replayed)})"]
        found = []
        for i, (a, b) in enumerate(zip(recorded, replayed, strict=True)):
            found += aar_differences(a, b, f"{path}[{i}]")
        return found
    return [] if recorded == replayed else [path]
