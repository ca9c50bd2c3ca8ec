"""GeoJSON feature collections (boundaries for maps): one CSV row per feature for the COPY path.

Each feature's properties become columns, headed by their names, and its geometry one more column,
``geometry``, holding the GeoJSON geometry object as text - stored as it came, so a map draws the
publisher's shapes and the warehouse needs no spatial extension. A collection is read whole (ONS
district boundaries, generalised: 1.4 MB), so files beyond MAX_BYTES are refused before parsing.
"""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path

MAX_BYTES = 512 * 2**20


class GeoJSONError(ValueError):
    """The file is not a GeoJSON feature collection the platform can read."""


def is_json(path: Path) -> bool:
    """True when the file starts (after a byte-order mark and blanks) like JSON (an object or an array)."""
    with path.open("rb") as fh:
        head = fh.read(1024)
    return head.removeprefix(b"\xef\xbb\xbf").lstrip()[:1] in (b"{", b"[")


def geojson_to_csv(path: Path, target: Path, max_columns: int = 1000) -> Path:
    """Write the features of ``path`` as UTF-8 CSV at ``target`` (renamed into place when whole)."""
    size = path.stat().st_size
    if size > MAX_BYTES:
        raise GeoJSONError(f"the file is {size:,} bytes; a boundary file here may be at most {MAX_BYTES:,} "
                           "(send generalised boundaries, e.g. ONS 'BUC' or 'BGC')")
    try:
        with path.open(encoding="utf-8-sig") as fh:
            document = json.load(fh)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise GeoJSONError(f"the file is not readable JSON: {exc}") from exc
    except RecursionError as exc:  # JSON nested thousands deep: no boundary file is
        raise GeoJSONError("the file nests JSON deeper than Python reads: it is not a boundary file") from exc
    if not isinstance(document, dict) or document.get("type") != "FeatureCollection" \
            or not isinstance(document.get("features"), list):
        raise GeoJSONError('the file is not a GeoJSON FeatureCollection (no "type": "FeatureCollection" '
                           'with a "features" list)')
    features = document["features"]
    names: dict[str, None] = {}
    for number, feature in enumerate(features, start=1):
        if not isinstance(feature, dict) or not isinstance(feature.get("properties") or {}, dict):
            raise GeoJSONError(f"feature {number} is not a GeoJSON Feature with properties")
        names.update(dict.fromkeys(feature.get("properties") or {}))
        if len(names) > max_columns:  # checked as they come: a property per feature must not grow the table
            raise GeoJSONError(f"the features have more than {max_columns:,} different properties; this feed takes "
                               f"at most {max_columns:,} columns (its contract's max_columns)")
    if len(names) + 1 > max_columns:
        raise GeoJSONError(f"the features have {len(names):,} different properties; this feed takes at most "
                           f"{max_columns:,} columns (its contract's max_columns)")
    if "geometry" in names:
        raise GeoJSONError("a feature property is called 'geometry', the name of the shape's own column")
    partial = target.with_name(f".{target.name}.{os.getpid()}.partial")
    with partial.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow([*names, "geometry"])
        for feature in features:
            properties = feature.get("properties") or {}
            geometry = feature.get("geometry")
            writer.writerow([_text(properties.get(n)) for n in names]
                            + ["" if geometry is None else json.dumps(_type_first(geometry), separators=(",", ":"))])
    partial.replace(target)
    return target


def _type_first(geometry):
    """The geometry with its "type" member first (GeoJSON members may come in any order; a contract's
    pattern can then check the kind of shape at the start)."""
    if isinstance(geometry, dict) and "type" in geometry:
        return {"type": geometry["type"], **{k: v for k, v in geometry.items() if k != "type"}}
    return geometry


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return json.dumps(value, separators=(",", ":"))
    return str(value)
