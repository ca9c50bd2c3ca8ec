"""Every mart an analyst can query is described, column by column (issue 19): the dbt YAML is the
data dictionary (`dbt docs`, the site's dictionary page), so a column without a description is a
column an analyst has to guess at. Contracts are enforced on every mart, so the columns listed here
are exactly the columns built (dbt refuses a build where they differ)."""

from __future__ import annotations

import yaml

from totalplace.settings import PROJECT_ROOT

MARTS = PROJECT_ROOT / "dbt_project" / "models" / "marts"


def _mart_models() -> dict[str, dict]:
    models = {}
    for path in sorted(MARTS.rglob("*.yml")):
        for model in (yaml.safe_load(path.read_text()) or {}).get("models", []):
            models[model["name"]] = model
    return models


def test_every_mart_is_a_described_contract():
    models = _mart_models()
    built = {p.stem for p in MARTS.rglob("*.sql")}
    assert built and built == set(models), f"marts without YAML: {sorted(built - set(models))}"
    problems = []
    for name, model in models.items():
        if not ((model.get("config") or {}).get("contract") or {}).get("enforced"):
            problems.append(f"{name}: contract not enforced (its YAML columns need not be its columns)")
        if not (model.get("description") or "").strip():
            problems.append(f"{name}: no description")
        columns = model.get("columns") or []
        if not columns:
            problems.append(f"{name}: no columns listed")
        problems += [f"{name}.{c['name']}: no description" for c in columns if not (c.get("description") or "").strip()]
    assert problems == []
