"""What a warehouse build must rebuild: everything downstream of the feeds that changed since the
last published build - or everything, when there is no such build or the dbt project changed.

A new month of street crimes changes nothing in spend, housing or the NHS marts: rebuilding them
costs the same every time and grows with every feed a place adds. So the transform builds
``source:raw_<agency>.<agency>__<feed>+`` for each feed with a file published, superseded or purged
(retention) since the last published build, reading everything else from the published
warehouse. Each published build is recorded in ``ops.warehouse_builds`` with the hash of the dbt
project it was built from: a changed model, macro, seed or test (or a contract, through the
generated source files) means a full build. Reference data (ONS lookups, populations) arrives
through the ledger like any feed, so a changed lookup rebuilds what reads it. What changed is told
by the set of published files, recorded with each build, not by timestamps.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from totalplace.dbt_sources import source_selector

PROJECT_PARTS = ("dbt_project.yml", "models", "macros", "seeds", "tests", "snapshots", "analyses")


LAYER_SELECTORS = {
    "staging": ["path:seeds", "path:models/staging"],
    "intermediate": ["path:models/intermediate"],
    "marts": ["path:models/marts"],
    "warehouse": ["path:seeds", "path:models"],
}
"""What ``dbt build`` selects for each layer (``totalplace.dbt.build``) - the whole warehouse when no source is known."""


@dataclass
class Selection:
    """One build's scope. ``sources`` None: the whole warehouse; otherwise the dbt source
    selectors whose descendants are rebuilt (empty: nothing changed, nothing to build)."""

    started_at: datetime
    project_hash: str
    sources: list[str] | None
    reason: str
    relations: list[tuple[str, str, str]] = field(default_factory=list)
    """(schema as published, relation name, materialization) of every model and seed rebuilt (partial builds)."""
    files: list[int] = field(default_factory=list)
    """The files published when the build started: what the next build compares with."""

    @property
    def full(self) -> bool:
        return self.sources is None

    @property
    def selectors(self) -> list[str]:
        """dbt ``--select`` arguments of this build."""
        return LAYER_SELECTORS["warehouse"] if self.sources is None else downstream_of(self.sources)

    def as_dict(self) -> dict:
        return {"started_at": self.started_at.isoformat(), "project_hash": self.project_hash, "sources": self.sources,
                "reason": self.reason, "relations": [list(r) for r in self.relations], "files": self.files}

    @classmethod
    def from_dict(cls, data: dict) -> Selection:
        return cls(started_at=datetime.fromisoformat(data["started_at"]), project_hash=data["project_hash"],
                   sources=data["sources"], reason=data["reason"],
                   relations=[tuple(r) for r in data.get("relations", [])], files=data.get("files", []))


def downstream_of(sources: list[str]) -> list[str]:
    """dbt ``--select`` arguments for the sources and everything built from them."""
    return [f"{source}+" for source in sources]


def project_hash(dbt_project_dir: Path) -> str:
    """One hash of every file dbt reads to build the warehouse (paths and contents)."""
    digest = hashlib.sha256()
    for part in PROJECT_PARTS:
        root = dbt_project_dir / part
        paths = sorted(p for p in root.rglob("*") if p.is_file()) if root.is_dir() else [root] if root.exists() else []
        for path in paths:
            digest.update(str(path.relative_to(dbt_project_dir)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def published_files(conn) -> list[int]:
    """Every file whose rows are in raw now (published, not purged by retention)."""
    return [r[0] for r in conn.execute("select file_id from ops.file_ledger where status = 'published' "
                                       "and purged_at is null order by 1").fetchall()]


def changed_feeds(conn, before: list[int], now: list[int]) -> list[tuple[str, str]]:
    """(agency, feed) of every feed with a file published since ``before`` was taken, or no longer
    published (superseded by a corrected re-send, or purged by retention).

    Sets of files, not timestamps: a file published while a build runs is not in that build's set,
    so the next build picks it up, and nothing published earlier is selected again.
    """
    differ = sorted(set(before) ^ set(now))
    if not differ:
        return []
    return [tuple(r) for r in conn.execute(
        "select distinct agency, feed from ops.file_ledger where file_id = any(%s) order by 1, 2", (differ,)).fetchall()]


def last_published(conn) -> tuple[str, list[int]] | None:
    """(project hash, files published) of the last published build, or None."""
    return conn.execute("select project_hash, published_files from ops.warehouse_builds "
                        "order by published_at desc limit 1").fetchone()


def select(conn, dbt_project_dir: Path, manifest: Path | None, *, full: bool = False) -> Selection:
    """The scope of a build starting now (``full``: the whole warehouse whatever changed).

    A partial build needs the manifest of the published warehouse (``manifest``) to know which
    models lie downstream of the changed feeds; without it the build is full.
    """
    started = conn.execute("select now()").fetchone()[0]
    current = project_hash(dbt_project_dir)
    files = published_files(conn)
    previous = last_published(conn)

    def whole(reason: str) -> Selection:
        return Selection(started, current, None, reason, files=files)

    if full:
        return whole("a full build was asked for")
    if previous is None:
        return whole("no published build yet")
    if previous[0] != current:
        return whole("the dbt project changed since the last published build")
    if manifest is None or not manifest.exists():
        return whole("no manifest of the published warehouse")
    sources = [source_selector(a, f) for a, f in changed_feeds(conn, previous[1], files)]
    relations = downstream(manifest, sources)
    if sources and not relations:
        return whole("the changed feeds are not in the manifest")
    reason = f"{len(sources)} feed(s) changed since the last published build" if sources else "nothing changed"
    return Selection(started, current, sources, reason, relations, files)


def downstream(manifest: Path, sources: list[str]) -> list[tuple[str, str, str]]:
    """(schema, name, materialization) of every model and seed downstream of the given source
    selectors, read from the manifest's child map (schemas as the manifest names them)."""
    doc = json.loads(manifest.read_text())
    wanted = {s.removeprefix("source:") for s in sources}
    starts = [uid for uid, src in doc["sources"].items() if f"{src['source_name']}.{src['name']}" in wanted]
    seen: set[str] = set()
    queue = list(starts)
    while queue:
        for child in doc["child_map"].get(queue.pop(), []):
            if child not in seen:
                seen.add(child)
                queue.append(child)
    nodes = [doc["nodes"][uid] for uid in seen if uid in doc["nodes"]]
    return sorted((n["schema"], n.get("alias") or n["name"], n["config"].get("materialized", ""))
                  for n in nodes if n["resource_type"] in ("model", "seed"))


def record(conn, run_id: str, selection: Selection) -> None:
    """Note a published build: the next one rebuilds what lies downstream of the feeds whose
    published files differ from the ones this build started from (``selection.files``)."""
    conn.execute("insert into ops.warehouse_builds (run_id, started_at, project_hash, sources, reason, "
                 "published_files) values (%s, %s, %s, %s, %s, %s)",
                 (run_id, selection.started_at, selection.project_hash, selection.sources, selection.reason,
                  selection.files))
