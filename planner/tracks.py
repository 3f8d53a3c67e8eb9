"""Where units went and where they fought: tracks and battle sites from a record, and GeoJSON.

A unit's track is the place it stood at H+0 (or arrived at, for a reinforcement) and at the end
of every cycle, consecutive repeats merged: the engine snapshots positions at cycle boundaries,
so a track joins those places by straight lines, not by the roads between them. Battle sites
are the battles the engine logged to their end plus those still being fought at the end.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from planner.record import AfterActionRecord
from sim.scenario import Scenario

__all__ = ["BattleSite", "UnitTrack", "battle_sites", "tracks_geojson", "unit_tracks"]


@dataclass
class UnitTrack:
    """A unit's places over the campaign: (hour first seen there, place), in order."""

    unit: str
    side: str
    points: list[tuple[float, str]] = field(default_factory=list)

    @property
    def moved(self) -> bool:
        """Whether the unit stood at more than one place."""
        return len(self.points) > 1


@dataclass
class BattleSite:
    """A battle at a place; `end_hour` None while it is still going on at the campaign's end."""

    place: str
    start_hour: float
    end_hour: float | None
    winner: str | None
    defender: str | None


def unit_tracks(aar: AfterActionRecord, scenario: Scenario) -> list[UnitTrack]:
    """Every unit that took the field, with the places it stood at cycle by cycle."""
    tracks = []
    for spec in scenario.units:
        track = UnitTrack(unit=spec.id, side=spec.side)
        if spec.arrives_hour <= 0:
            track.points.append((0.0, spec.location))
        for cycle in aar.cycles:
            where = cycle.situation.units.get(spec.id)
            if where is None:
                continue
            if not track.points and spec.arrives_hour > 0:
                track.points.append((spec.arrives_hour, spec.location))
            if where.place != track.points[-1][1]:
                track.points.append((cycle.end_hour, where.place))
        if track.points:
            tracks.append(track)
    return tracks


def battle_sites(aar: AfterActionRecord) -> list[BattleSite]:
    """Battles fought to their end (the engine's log) and those begun but not yet ended."""
    sites = [
        BattleSite(b.place, b.start_hour, b.end_hour, b.winner, b.defender)
        for b in aar.outcome.battles
    ]
    ended = {(b.place, round(b.start_hour, 6)) for b in aar.outcome.battles}
    for cycle in aar.cycles:
        for event in cycle.event_log:
            key = (event.place, round(event.hour or 0.0, 6))
            if event.kind == "battle_begun" and key not in ended:
                sites.append(
                    BattleSite(event.place or "", event.hour or 0.0, None, None, event.previous)
                )
                ended.add(key)
    return sites


def tracks_geojson(aar: AfterActionRecord, scenario: Scenario) -> dict[str, Any]:
    """A GeoJSON FeatureCollection: one LineString (or Point) per unit track, one Point per
    battle; coordinates are [lon, lat] of the scenario's places (RFC 7946)."""
    places = {p.id: p for p in scenario.places}

    def position(place: str) -> list[float]:
        return [places[place].lon, places[place].lat]

    features = []
    for track in unit_tracks(aar, scenario):
        coordinates = [position(place) for _, place in track.points]
        geometry = (
            {"type": "LineString", "coordinates": coordinates}
            if track.moved
            else {"type": "Point", "coordinates": coordinates[0]}
        )
        features.append(
            {
                "type": "Feature",
                "geometry": geometry,
                "properties": {
                    "kind": "track",
                    "unit": track.unit,
                    "side": track.side,
                    "hours": [hour for hour, _ in track.points],
                    "places": [place for _, place in track.points],
                },
            }
        )
    for site in battle_sites(aar):
        features.append(
            {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": position(site.place)},
                "properties": {
                    "kind": "battle",
                    "place": site.place,
                    "start_hour": site.start_hour,
                    "end_hour": site.end_hour,
                    "winner": site.winner,
                    "defender": site.defender,
                },
            }
        )
    return {"type": "FeatureCollection", "features": features}
