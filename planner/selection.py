"""Select the best of k simulated systems (COAs) with a stated guarantee: procedure KN++.

KN++ is the fully sequential indifference-zone procedure of Kim & Nelson (2006), "On the
asymptotic validity of fully sequential selection procedures for steady-state simulation",
Operations Research 54(3):475-488 (for i.i.d. replications: KN of Kim & Nelson 2001, ACM TOMACS
11(3):251-273, with the variances updated at every stage). With α = 1 - pcs, δ the indifference
zone and c = 1, it guarantees P(select the best) ≥ 1 - α whenever the best mean exceeds every
other by at least δ (asymptotically as δ → 0, for any joint distribution of a replication's
outputs across systems: common random numbers are allowed and help). The equations:

    β = 1 - (1 - α)^(1/(k-1))                                   (KN: α/(k-1))
    at stage r (r observations of each system still in contention I):
    X̄_i(r) = Σ_{j≤r} X_ij / r
    S²_il(r) = Σ_{j≤r} (X_ij - X_lj - [X̄_i(r) - X̄_l(r)])² / (r - 1)
    η(r) = ½ [(2β)^(-2/(r-1)) - 1],   h²(r) = 2 η(r) (r - 1)     (KN: r - 1 = n0 - 1 always)
    W_il(r) = max{0, δ/(2r) (h²(r) S²_il(r) / δ² - r)}
    I ← {i ∈ I : X̄_i(r) ≥ X̄_l(r) - W_il(r) for every l ∈ I, l ≠ i}
    stop when |I| = 1 (select it); else draw observation r + 1 of every i ∈ I.

It starts at r = n0. The validity is asymptotic (δ small against the outputs' spread, so
the region is long); what breaks it in practice is a variance understated at small r, as when
a system's result turns on an event that a first stage of n0 replications may not show, so
n0 should be large enough to see such events. Two additions, both recorded: a cap on r ends
it early (the system with the best sample mean among those in contention is selected, and
the guarantee no longer applies); and systems whose outputs, bounded to a spread s, agree
exactly in every one of r ≥ ln β / ln(1 - δ/s) replications stop as equivalent (had they
differed in a share p ≥ δ/s of replications, that run of agreement has chance ≤ β; if
p < δ/s their means differ by less than δ), which KN++ alone, with S²_il = 0 and equal
means, would never end.

Replications are drawn in batches (so a process pool gets work in chunks), but screened one
stage at a time, so the selection does not depend on the batch sizes: observations a system
received past the stage that eliminated it are not used. Why not PyPI `sim-tools`
(`sim_tools.ovs`): its KN++ adds the two systems' variances instead of taking the variance of
their paired differences (so common random numbers do not help), it draws one replication at
a time through an observer callback, and it pulls matplotlib, pandas and plotly.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict

__all__ = ["PROCEDURE", "REFERENCE", "Selection", "SelectionRecord", "Stop", "kn_plus_plus"]

PROCEDURE = "KN++"
REFERENCE = "Kim & Nelson (2006), Operations Research 54(3):475-488"
Stop = Literal["separated", "equivalent", "cap reached", "single candidate"]

#: draw(systems, first, count): observations first .. first + count - 1 of each listed system,
#: shape (len(systems), count). Observation r of every system must use the same random
#: numbers (common random numbers) and depend on r only, never on the batch it came in.
Draw = Callable[[Sequence[int], int, int], np.ndarray]
#: offset(r, systems): a shift added to each listed system's sample mean at stage r, computed
#: from its first r observations only (the planner's loss-limit penalty); one value per system.
Offset = Callable[[int, Sequence[int]], np.ndarray]

MIN_BATCH = 4  # replications per system per draw after the first stage, at least...
BATCH_SHARE = 4  # ...and a quarter of those already drawn: few pool calls, little overshoot


@dataclass(frozen=True)
class Selection:
    """Outcome of one selection, by system index."""

    best: int
    survivors: tuple[int, ...]  # still in contention when it stopped (the best among them)
    replications: tuple[int, ...]  # observations of each system the procedure used
    means: tuple[float, ...]  # each system's sample mean (with its offset) at its last stage
    stopped: Stop
    drawn: int  # observations drawn in all, including those past an elimination in a batch
    indifference: float
    pcs: float
    first_stage: int
    max_replications: int

    def guarantee(self) -> str:
        """The statement this selection carries, in one sentence."""
        if self.stopped == "single candidate":
            return "none needed: a single candidate"
        if self.stopped == "equivalent":
            return (
                f"P(correct selection) ≥ {self.pcs:g} when the best is at least "
                f"{self.indifference:g} better than every other; the {len(self.survivors)} "
                f"left gave identical results in all {max(self.replications)} replications, "
                f"so they are within {self.indifference:g} of each other at that confidence"
            )
        if self.stopped == "cap reached":
            return (
                f"none: the cap of {self.max_replications} replications came before "
                f"separation; selected the best sample mean of the {len(self.survivors)} "
                "still in contention"
            )
        return (
            f"P(correct selection) ≥ {self.pcs:g} when the best is at least "
            f"{self.indifference:g} better in expected utility than every other"
        )

    def record(self, labels: Sequence[str], runs_per_replication: int = 1) -> SelectionRecord:
        """The JSON-ready record of this selection, systems named by `labels`."""
        survivors = set(self.survivors)
        return SelectionRecord(
            procedure=PROCEDURE,
            reference=REFERENCE,
            indifference=self.indifference,
            pcs=self.pcs,
            first_stage=self.first_stage,
            max_replications=self.max_replications,
            replications=dict(zip(labels, self.replications, strict=True)),
            eliminated=[label for i, label in enumerate(labels) if i not in survivors],
            stopped=self.stopped,
            guarantee=self.guarantee(),
            engine_runs=self.drawn * runs_per_replication,
        )


class SelectionRecord(BaseModel):
    """What a plan keeps of its selection: procedure, settings, budget and why it stopped."""

    model_config = ConfigDict(frozen=True)

    procedure: str
    reference: str
    indifference: float
    pcs: float
    first_stage: int
    max_replications: int
    replications: dict[str, int]  # per system: replications the decision rests on
    eliminated: list[str]
    stopped: Stop
    guarantee: str
    engine_runs: int  # simulation runs drawn in all


def kn_plus_plus(
    draw: Draw,
    systems: int,
    *,
    indifference: float,
    pcs: float,
    first_stage: int,
    max_replications: int,
    offset: Offset | None = None,
    spread: float | None = None,
) -> Selection:
    """Select the system with the largest mean by KN++ (module docstring).

    Args:
        draw: gives observations of systems (see `Draw`).
        systems: how many systems (k).
        indifference: δ > 0, in the outputs' units.
        pcs: target probability of correct selection 1 - α, in [0.5, 1).
        first_stage: n0 ≥ 2 (capped at `max_replications`).
        max_replications: most observations of any one system.
        offset: optional shift of the sample means (see `Offset`).
        spread: the largest possible |X_ij - X_lj| (outputs in [0, 1]: 1). With it, systems
            identical in every replication stop as equivalent (module docstring); without,
            only the cap ends their contest.
    """
    if systems < 1 or indifference <= 0 or not 0.5 <= pcs < 1 or max_replications < 1:
        raise ValueError("need systems ≥ 1, indifference > 0, 0.5 ≤ pcs < 1, a cap ≥ 1")
    if first_stage < 2:
        raise ValueError("the first stage needs at least 2 observations per system")
    n0 = min(first_stage, max_replications)
    observed = np.zeros((systems, max_replications))
    observed[:, :n0] = draw(range(systems), 0, n0)
    drawn = systems * n0
    used = np.full(systems, n0)
    alive = list(range(systems))
    beta = 1 - pcs ** (1 / (systems - 1)) if systems > 1 else 0.0
    start = observed[:, :n0]
    sums = start.sum(axis=1)
    products = start @ start.T  # Σ_j X_ij X_lj
    identical = (start[:, None, :] == start[None, :, :]).all(axis=2)  # equal in every replication
    settle = _equivalence_stage(beta, indifference, spread) if systems > 1 else None
    means = sums / n0 + (offset(n0, range(systems)) if offset is not None else 0.0)

    def sample_means(r: int) -> np.ndarray:
        values = sums[alive] / r
        return values + offset(r, alive) if offset is not None else values

    r = n0
    stopped: Stop | None = "single candidate" if systems == 1 else None
    available = n0  # observations drawn so far for the systems in contention
    while stopped is None:
        if r > available:  # draw the next batch for every system still in contention
            count = min(max(MIN_BATCH, available // BATCH_SHARE), max_replications - available)
            observed[alive, available : available + count] = draw(alive, available, count)
            drawn += len(alive) * count
            available += count
        if r > n0:  # take in observation r of each system in contention
            column = observed[alive, r - 1]
            sums[alive] += column
            products[np.ix_(alive, alive)] += np.outer(column, column)
            identical[np.ix_(alive, alive)] &= column[:, None] == column[None, :]
            used[alive] = r
        current = sample_means(r)
        means[alive] = current
        if r >= 2 and len(alive) > 1:
            alive = _screen(alive, current, sums, products, r, beta, indifference)
        if len(alive) == 1:
            stopped = "separated"
        elif settle is not None and r >= settle and identical[np.ix_(alive, alive)].all():
            stopped = "equivalent"
        elif r >= max_replications:
            stopped = "cap reached"
        r += 1
    best = max(alive, key=lambda i: (means[i], -i))
    return Selection(
        best=best,
        survivors=tuple(alive),
        replications=tuple(int(n) for n in used),
        means=tuple(float(m) for m in means),
        stopped=stopped,
        drawn=drawn,
        indifference=indifference,
        pcs=pcs,
        first_stage=n0,
        max_replications=max_replications,
    )


def _equivalence_stage(beta: float, delta: float, spread: float | None) -> int | None:
    """Replications after which systems identical in every one count as equivalent: if they
    differed in a share p ≥ δ/spread of replications, r identical ones have chance
    (1 - p)^r ≤ β; if p < δ/spread, their means are within δ. None without a spread."""
    if spread is None:
        return None
    if delta >= spread:
        return 0
    return math.ceil(math.log(beta) / math.log1p(-delta / spread))


def _screen(
    alive: list[int],
    current: np.ndarray,
    sums: np.ndarray,
    products: np.ndarray,
    r: int,
    beta: float,
    delta: float,
) -> list[int]:
    """The systems of `alive` that survive stage r's screening (module docstring)."""
    index = np.ix_(alive, alive)
    total = sums[alive]
    square = np.diag(products)[alive]
    # Σ_j (X_ij - X_lj)² and Σ_j (X_ij - X_lj) over the first r observations, all pairs at once.
    difference_squares = square[:, None] + square[None, :] - 2 * products[index]
    difference_sums = total[:, None] - total[None, :]
    variance = np.maximum(difference_squares - difference_sums**2 / r, 0.0) / (r - 1)
    eta = 0.5 * ((2 * beta) ** (-2 / (r - 1)) - 1)
    h2 = 2 * eta * (r - 1)
    width = np.maximum(0.0, delta / (2 * r) * (h2 * variance / delta**2 - r))
    beaten = current[:, None] < current[None, :] - width  # [i, l]: i falls out against l
    np.fill_diagonal(beaten, False)
    return [system for system, out in zip(alive, beaten.any(axis=1), strict=True) if not out]
