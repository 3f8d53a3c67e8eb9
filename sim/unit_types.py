"""Default unit-type catalogue with documented planning figures; scenarios may override any entry.

Attrition coefficients are per hour: the strength an enemy loses per hour for each unit of own
strength in contact (Lanchester square-law form). They are notional planning figures, scaled so
that a 1:1 meeting engagement in open terrain costs each side roughly 20-30 % in 12 hours, which
is the order of magnitude of daily loss rates for forces in heavy combat in Dupuy's data
(T. N. Dupuy, "Attrition: Forecasting Battle Casualties and Equipment Losses in Modern War",
1990, ch. 4-5: 1-6 % per day for divisions, much higher for engaged battalions).
Type-pair multipliers (`versus`) follow the usual anti-armour / anti-personnel asymmetries.
Naval salvo parameters follow Hughes ("Fleet Tactics and Coastal Combat", 2nd ed. 2000, ch. 11):
offense = well-aimed anti-ship missiles per ship per salvo, defense = missiles a ship can
intercept, staying power = hits to put a ship out of action (about 1-3 for modern surface ships).
Land attack is Hughes's fleet-versus-shore duel run the other way: surface combatants carry a
few land-attack missiles each, and a carrier group's air wing adds strike sorties; the ranges
(250 km for a surface group's missiles, 600 km for carrier strike aircraft) and loads are
notional planning figures. Ships fire them only at batteries their side has located.
"""

from __future__ import annotations

from sim.schema import SalvoParameters, UnitType

__all__ = ["DEFAULT_UNIT_TYPES", "TERRAIN_DEFENSE_FACTOR"]

DEFAULT_UNIT_TYPES: dict[str, UnitType] = {
    "infantry": UnitType(
        domain="land", lethality=0.020, versus={"armor": 0.6}, speed_kph=20, sensor_range_km=10
    ),
    "mechanized": UnitType(domain="land", lethality=0.030, speed_kph=35, sensor_range_km=15),
    "armor": UnitType(
        domain="land", lethality=0.040, versus={"infantry": 1.2}, speed_kph=35, sensor_range_km=15
    ),
    "artillery": UnitType(
        domain="land", lethality=0.030, versus={"armor": 0.5}, speed_kph=30, sensor_range_km=30
    ),
    "recon": UnitType(
        domain="land",
        lethality=0.008,
        speed_kph=50,
        sensor_range_km=60,
        detection_probability=0.9,
        signature=0.5,
    ),
    "marines": UnitType(domain="land", lethality=0.025, speed_kph=20, sensor_range_km=10),
    "surface_group": UnitType(
        domain="sea",
        lethality=0.0,
        speed_kph=35,
        sensor_range_km=300,
        land_attack_range_km=250,
        salvo=SalvoParameters(offense=4.0, defense=2.0, staying_power=2.0, land_attack=1.0),
    ),
    "carrier_group": UnitType(
        domain="sea",
        lethality=0.0,
        speed_kph=35,
        sensor_range_km=500,
        land_attack_range_km=600,
        salvo=SalvoParameters(offense=6.0, defense=4.0, staying_power=3.0, land_attack=2.0),
    ),
    "amphibious_group": UnitType(
        domain="sea",
        lethality=0.0,
        speed_kph=28,
        sensor_range_km=150,
        salvo=SalvoParameters(offense=0.5, defense=1.0, staying_power=1.5),
    ),
    # Land-based anti-ship missile battery; strength counts launchers. Two ready missiles a
    # launcher per salvo and a four-hour reload are typical of truck-mounted systems (Hughes,
    # "Fleet Tactics and Coastal Combat", ch. 11, on coastal forces).
    "coastal_missile": UnitType(
        domain="land",
        lethality=0.005,
        speed_kph=40,
        sensor_range_km=40,
        anti_ship_range_km=200,
        turnaround_hours=4,
        salvo=SalvoParameters(offense=2.0, defense=0.0, staying_power=1.0),
    ),
    "air_wing": UnitType(
        domain="air",
        lethality=0.010,
        speed_kph=800,
        sensor_range_km=400,
        sortie_range_km=1000,
        turnaround_hours=6,
    ),
}

#: Dupuy's terrain defence factors (QJM, "Numbers, Predictions and War", 1979, table of
#: terrain factors): what a defender in this terrain divides the attacker's fire by.
TERRAIN_DEFENSE_FACTOR: dict[str, float] = {
    "open": 1.0,
    "desert": 1.0,
    "beach": 1.0,
    "water": 1.0,
    "marsh": 1.2,
    "forest": 1.3,
    "urban": 1.5,
    "mountain": 1.6,
}

# Land combat's posture and terrain divisors live in the combat models
# (sim/data/combat_models: `dupuy_defaults` keeps Dupuy's posture factors, hasty defence 1.3
# and prepared 1.5, and the terrain factors above; `cdb90` fits them to history). The table
# above still weighs air-strike cover and the planners' estimates.
