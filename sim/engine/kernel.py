"""The engine's kernel: clock, phased events, keyed random streams and event counting.

Every timed event has a priority of phase + rank: the phase says what kind of work it is
(fires, battles, movement, supply, convoys, sensing, records, in that order at equal hours) and
the rank in [0, 1) orders the units, places or convoys within a phase. The phases sit above
SimPy's own priorities (0 urgent, 1 normal), so zero-delay events such as slot grants and
process starts settle before the next phase at the same hour. Together with keyed random draws
(a draw is a function of what it is for, never of the order draws are made in) this gives
same-hour events one order whatever order they were scheduled in, which is what makes a run
rebuilt from a snapshot identical to a straight run.
"""

from __future__ import annotations

import math
import random
from collections.abc import Generator, Iterable
from typing import Any

import simpy
from simpy.events import Event

from sim._random import keyed_rng, keyed_uniform, splitmix64, stream_key
from sim.schema import DEFAULT_MAX_EVENTS
from sim.state import WorldState

__all__ = [
    "DEFAULT_MAX_EVENTS",
    "PHASE_BATTLE",
    "PHASE_CONVOY",
    "PHASE_FIRES",
    "PHASE_MOVE",
    "PHASE_RECORD",
    "PHASE_SENSE",
    "PHASE_SUPPLY",
    "EventBudgetExceeded",
    "Kernel",
    "Process",
    "first_wave",
    "ranks",
]

PHASE_FIRES, PHASE_BATTLE, PHASE_MOVE, PHASE_SUPPLY, PHASE_CONVOY, PHASE_SENSE, PHASE_RECORD = (
    range(2, 9)
)

#: A SimPy process body: a generator of events.
Process = Generator[Event, Any, None]


class EventBudgetExceeded(RuntimeError):
    """A run processed more events than its budget: the scenario makes too much happen."""

    def __init__(self, budget: int, hour: float):
        self.budget = budget
        self.hour = hour
        super().__init__(
            f"the simulation stopped at hour {hour:.2f} after {budget:,} events "
            "(settings.max_events): raise it, or make scan_interval_hours, "
            "combat_step_hours or turnaround_hours coarser"
        )

    def __reduce__(self) -> tuple[type, tuple[int, float]]:
        return type(self), (self.budget, self.hour)  # survives the trip from a worker


class _CountingEnvironment(simpy.Environment):
    """A SimPy environment that counts the events it processes and stops past a budget."""

    def __init__(self, initial_time: float = 0, max_events: int = DEFAULT_MAX_EVENTS):
        super().__init__(initial_time)
        self.events_processed = 0
        self.max_events = max_events

    def step(self) -> None:
        self.events_processed += 1
        if self.events_processed > self.max_events:
            raise EventBudgetExceeded(self.max_events, self.now)
        super().step()


class Phased(Event):
    """A timeout scheduled with a priority of phase + rank, so equal-time events have one
    fixed order whatever the order they were scheduled in."""

    def __init__(self, env: simpy.Environment, delay: float, priority: float):
        super().__init__(env)
        self._ok = True
        self._value = None
        env.schedule(self, priority, max(0.0, delay))  # type: ignore[arg-type]


class Kernel:
    """The clock, event queue and random streams of one run from a world state.

    Args:
        state: the world the run advances (its hour is the start time).
        seed: keys every random draw of the run.
        stochastic: random draws (True) or expected values (False).
        max_events: the run's event budget; past it `run` raises `EventBudgetExceeded`.
    """

    def __init__(
        self,
        state: WorldState,
        *,
        seed: int,
        stochastic: bool,
        max_events: int = DEFAULT_MAX_EVENTS,
    ):
        self.state = state
        self.seed = seed
        self.stochastic = stochastic
        self.env = _CountingEnvironment(initial_time=state.hour, max_events=max_events)

    @property
    def now(self) -> float:
        """Current simulated hour."""
        return self.env.now

    @property
    def events_processed(self) -> int:
        """SimPy events processed so far."""
        return self.env.events_processed

    def wait(self, delay: float, phase: int, rank: float = 0.0) -> Phased:
        """An event `delay` hours from now in `phase`, ordered by `rank` within it."""
        return Phased(self.env, delay, phase + rank)

    def start(self, process: Process) -> simpy.Process:
        """Register a process body with the event loop."""
        return self.env.process(process)

    def uniform(self, *key: object) -> float:
        """The keyed uniform draw in (0, 1) for (seed, *key)."""
        return keyed_uniform(self.seed, *key)

    def rng(self, *key: object) -> random.Random:
        """A keyed Python random stream for (seed, *key)."""
        return keyed_rng(self.seed, *key)

    def stream(self, *stream: object) -> int:
        """The key of the stream (seed, *stream), for `word_at`."""
        return stream_key(self.seed, *stream)

    def word_at(self, stream: int, index: int) -> int:
        """Draw `index` (an integer) of a keyed stream: `random.Random(word_at(stream(*s),
        i))` is `rng(*s, i)`."""
        return splitmix64(stream, index)

    def run(self, until: float) -> WorldState:
        """Advance to `until` hours (events at exactly `until` are left for the next run)."""
        if until > self.env.now:
            self.env.run(until=until)
        self.state.hour = max(self.state.hour, until)
        return self.state


def ranks(ids: Iterable[str]) -> dict[str, float]:
    """Each id's place in sorted order, as a fraction in [0, 1)."""
    ordered = sorted(ids)
    return {key: i / (len(ordered) + 1) for i, key in enumerate(ordered)}


def first_wave(now: float, interval: float) -> int:
    """The first wave of a fixed grid still to fire at `now`: one due exactly now has not
    fired (runs stop before `until`), and none fires at H+0."""
    return max(1, math.ceil(now / interval - 1e-9))
