"""The GeoJSON reader on its own: one CSV row per feature, the shape with its type first, and
refusals that say what is wrong - never a crash or a table grown without bound."""

from __future__ import annotations

import csv
import json

import pytest

from connectors.geojson import GeoJSONError, geojson_to_csv, is_json


def _write(tmp_path, document, name="b.geojson"):
    path = tmp_path / name
    path.write_text(document if isinstance(document, str) else json.dumps(document), encoding="utf-8")
    return path


def test_features_become_rows_with_the_shape_type_first(tmp_path):
    path = _write(tmp_path, {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"LAD21CD": "E09000007", "LAT": 51.5},
         "geometry": {"coordinates": [[[0, 0], [1, 1], [0, 0]]], "bbox": [0, 0, 1, 1], "type": "Polygon"}},
        {"type": "Feature", "properties": {"LAD21CD": "E09000001", "NOTE": None}, "geometry": None}]})
    rows = list(csv.reader(geojson_to_csv(path, tmp_path / "out.csv").open()))
    assert rows[0] == ["LAD21CD", "LAT", "NOTE", "geometry"]
    assert rows[1][:3] == ["E09000007", "51.5", ""] and rows[1][3].startswith('{"type":"Polygon","coordinates"')
    assert rows[2] == ["E09000001", "", "", ""]


@pytest.mark.parametrize(("document", "words"), [
    ('{"type": "FeatureCollection", "features": [', "not readable JSON"),
    ("[" * 100_000 + "]" * 100_000, "nests JSON deeper"),
    ('[{"type": "Feature"}]', "not a GeoJSON FeatureCollection"),
    ({"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {"geometry": 1}}]}, "called 'geometry'"),
    ({"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {f"p{i}": i}} for i in range(50)]},
     "more than 20 different properties"),
])
def test_what_is_not_a_boundary_file_is_refused_with_a_reason(tmp_path, document, words):
    path = _write(tmp_path, document)
    assert is_json(path)
    with pytest.raises(GeoJSONError, match=words):
        geojson_to_csv(path, tmp_path / "out.csv", max_columns=20)
    assert not (tmp_path / "out.csv").exists()
