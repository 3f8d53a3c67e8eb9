"""Battles as flat records (one per battle of a run), for `battles.csv` and validation."""

from __future__ import annotations

from dataclasses import dataclass

from sim.state import WorldState

__all__ = ["BattleRecord", "battle_records"]


@dataclass(frozen=True)
class BattleRecord:
    """One battle: where, when, who attacked and defended, who won, losses, why it ended."""

    place: str
    start_hour: float
    end_hour: float
    attacker: str  # "" in a meeting engagement (nobody held the place)
    defender: str
    winner: str  # "" if nobody held the field
    losses: dict[str, float]  # side -> strength lost in the battle
    end_reason: str  # annihilation, breakpoint, withdrawal or horizon


def _roles(sides: list[str], defender: str | None) -> tuple[str, str]:
    if defender is None:
        return "", ""
    return "+".join(s for s in sides if s != defender), defender


def battle_records(world: WorldState) -> list[BattleRecord]:
    """The run's battles in the order they ended; those still on close at `world.hour`
    with end reason "horizon"."""
    records = []
    for entry in world.battle_log:
        attacker, defender = _roles(entry["sides"], entry["defender"])
        records.append(
            BattleRecord(
                place=entry["place"],
                start_hour=entry["start_hour"],
                end_hour=entry["end_hour"],
                attacker=attacker,
                defender=defender,
                winner=entry["winner"] or "",
                losses=dict(entry["losses"]),
                end_reason=entry["end_reason"],
            )
        )
    for place in sorted(world.battles):
        battle = world.battles[place]
        attacker, defender = _roles(sorted(battle.contact_strength), battle.defender)
        records.append(
            BattleRecord(
                place=place,
                start_hour=battle.start_hour,
                end_hour=world.hour,
                attacker=attacker,
                defender=defender,
                winner="",
                losses={s: battle.losses.get(s, 0.0) for s in sorted(battle.contact_strength)},
                end_reason="horizon",
            )
        )
    return records
