"""dbt source definitions generated from the feed contracts.

``dbt_project/models/staging/<agency>/_<agency>__sources.yml`` is written by
``totalplace generate`` and committed; a test fails when it no longer matches the contracts, so
the contract stays the single source of truth and reviewers still see plain dbt YAML.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from totalplace.contracts import Contract

HEADER = "# Generated from feeds/{agency}/*.yml by `totalplace generate` - edit the contracts, not this file.\n"


def source_name(agency: str) -> str:
    """The dbt source holding an agency's raw tables (one table per feed, named ``<agency>__<feed>``)."""
    return f"raw_{agency}"


def source_selector(agency: str, feed: str) -> str:
    """The dbt selector of one feed's raw table."""
    return f"source:{source_name(agency)}.{agency}__{feed}"


def sources_yaml(agency: str, contracts: list[Contract]) -> str:
    """The ``raw_<agency>`` source: every published table of the agency, its columns and their meaning.

    It carries no data tests. What they would check - non-empty and allowed values, one row per
    file row - is enforced before a row is published: by the file's gate (its expectation suite,
    run on exactly the rows that become the partition) and by raw's primary key. Re-testing every
    published row on every build cost over half of an incremental build at 15M street crimes
    (measured by ``make bench``: 66 s of 120 s), for no check the gate had not made.
    """
    tables = []
    for c in sorted(contracts, key=lambda c: c.feed):
        columns = []
        for col in c.stored_columns:
            columns.append({"name": col.name, "description": col.description or col.header, "data_type": col.sql_type})
            for name, sql_type, description in col.derived_columns:
                columns.append({"name": name, "data_type": sql_type, "description": description})
        if c.match_key:
            columns.append({"name": "match_key", "data_type": "text", "description": next(
                d for n, _, d in c.raw_columns if n == "match_key")})
        columns += [
            {"name": "_extra", "description": "Columns the contract does not know, kept as JSON (header -> value)."},
            {"name": "_sent_by", "description": "The partner body that sent the file (partners.yml)."},
            {"name": "_agreement", "description": "The data-sharing agreement the file was accepted under (agreements.yml)."},
            {"name": "_file_id", "description": "ops.file_ledger.file_id of the file the row came from."},
            {"name": "_row_number", "description": "Data row number within that file (line = row + 1)."},
        ]
        if c.unpivot:
            columns.append({"name": "_column_number", "description": "Column of the file the value came from."})
        meta = {"owner": c.owner.name, "contact": c.owner.email, "contract": f"feeds/{c.agency}/{c.feed}.yml",
                "publisher": c.publisher}
        if c.person_identifiers:
            # one row per person or per event of one: the models publish it only as disclosure-controlled
            # aggregates (macro person_level_feeds, in macros/disclosure.sql, reads this)
            meta["person_level"] = True
        tables.append({
            "name": c.key,
            "description": f"{c.title}. {c.description}".strip(),
            "meta": meta,
            "columns": columns,
        })
    doc = {
        "version": 2,
        "sources": [{
            "name": source_name(agency),
            "description": f"Published rows of the {agency} feeds: each file gated by its Great Expectations "
                           "suite before it is published (so not re-tested here), loaded by COPY.",
            "schema": "raw",
            "tables": tables,
        }],
    }
    return HEADER.format(agency=agency) + yaml.safe_dump(doc, sort_keys=False, width=110, allow_unicode=True)


def source_paths(dbt_project_dir: Path, contracts: dict[str, Contract]) -> dict[Path, str]:
    """{path: expected content} for every agency with contracts."""
    by_agency: dict[str, list[Contract]] = {}
    for c in contracts.values():
        by_agency.setdefault(c.agency, []).append(c)
    return {
        dbt_project_dir / "models" / "staging" / agency / f"_{agency}__sources.yml": sources_yaml(agency, cs)
        for agency, cs in by_agency.items()
    }
