"""Partner mappings: how one body's files of one feed name their columns, declared once.

A council whose export says "Service label" where the contract says "Expense Area" - and where the
column scorer (connectors.column_scoring) cannot tell it from "Service division label" - is read
by its own mapping, ``feeds/<agency>/mappings/<feed>/<body>.yml``:

    body: Leeds City Council
    feed: council/spend_over_500
    columns:
      Service label: expense_area

The mapping wins over the contract's names and the scorer, for files that body sends (the body
the SFTP account belongs to, as partners.yml says). ``totalplace map`` proposes one from a file
for review; it is a file in the repository, so it is reviewed and versioned like a contract.
"""

from __future__ import annotations

import re
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field

from totalplace.contracts import Contract, ContractError, normalise_header


class Mapping(BaseModel):
    model_config = ConfigDict(extra="forbid")
    body: str = Field(description="the partner body whose files are read this way (partners.yml)")
    feed: str = Field(description="agency/feed")
    columns: dict[str, str] = Field(description="header as the body writes it -> contract column name")


def slug(body: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", body.casefold()).strip("-") or "body"


def mapping_path(feeds_dir: Path, contract: Contract, body: str) -> Path:
    return feeds_dir / contract.agency / "mappings" / contract.feed / f"{slug(body)}.yml"


def load_mapping(feeds_dir: Path, contract: Contract, body: str | None) -> tuple[dict[str, str], Path | None]:
    """({normalised header: contract column}, the file) of ``body``'s mapping for this feed; ({}, None)
    when it has none. A mapping naming a column the contract lacks is an error, not ignored."""
    if not body:
        return {}, None
    path = mapping_path(feeds_dir, contract, body)
    if not path.exists():
        return {}, None
    try:
        mapping = Mapping.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))
    except Exception as exc:
        raise ContractError(f"partner mapping {path} is malformed: {exc}") from exc
    if mapping.feed != f"{contract.agency}/{contract.feed}" or mapping.body != body:
        raise ContractError(f"partner mapping {path} is for {mapping.body!r} sending {mapping.feed}, not {body!r} "
                            f"sending {contract.agency}/{contract.feed}")
    known = {c.name for c in contract.header_columns}
    unknown = sorted(set(mapping.columns.values()) - known)
    if unknown:
        raise ContractError(f"partner mapping {path} names columns the contract does not have: {unknown}")
    return {normalise_header(h): c for h, c in mapping.columns.items()}, path


def write_mapping(path: Path, body: str, contract: Contract, columns: dict[str, str], comments: list[str]) -> Path:
    """Write a proposed mapping for review (the comments say how each line was chosen)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    text = yaml.safe_dump({"body": body, "feed": f"{contract.agency}/{contract.feed}", "columns": columns},
                          sort_keys=False, allow_unicode=True, width=120)
    header = "".join(f"# {line}\n" for line in [
        f"How {body}'s files of {contract.agency}/{contract.feed} name their columns (proposed by `totalplace map`:",
        "check each line, then commit the file). Header as the body writes it -> contract column.", *comments])
    path.write_text(header + text, encoding="utf-8")
    return path
