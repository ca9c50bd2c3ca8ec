"""Write-audit-publish for the warehouse.

dbt builds into ``<schema>__build`` (reference, staging, intermediate, marts) with every test; the
audit then cross-checks the build against the ledger (spend per file equals the file's control
total to the penny; rows per crime file equal the rows published); only then are the build schemas
swapped in for the published ones, all in one transaction. Analysts never see a half-built or
failed warehouse: a failing test or audit leaves the published schemas exactly as they were.
"""

from __future__ import annotations

import logging
from decimal import Decimal
from pathlib import Path

from psycopg import sql

from totalplace.access import grant_marts
from totalplace.contracts import load_contracts
from totalplace.settings import Settings
from totalplace.warehouse import connect, with_lock_retries

log = logging.getLogger(__name__)

SCHEMAS = ("reference", "staging", "intermediate", "marts")
BUILD_SUFFIX = "__build"
OLD_SUFFIX = "__old"

# feed -> the money column whose control total (in the ledger) fct_spend must equal for each file
SPEND_FEEDS = {
    "council/spend_over_500": "amount",
    "nhs/spend_over_25k": "amount",
    "nhs/ae_attendances": "cost",
    "nhs/hospital_admissions": "cost",
}


class AuditFailed(RuntimeError):
    """The build does not agree with what was published; it is not swapped in."""


def _relkind(conn, schema: str, name: str) -> str | None:
    """pg_class.relkind of ``schema.name`` ('r' table, 'v' view ...), None when there is none."""
    row = conn.execute("select c.relkind from pg_class c join pg_namespace n on n.oid = c.relnamespace "
                       "where n.nspname = %s and c.relname = %s", (schema, name)).fetchone()
    return row[0] if row else None


def drop_build(url: str, carry: list[tuple[str, str]] = ()) -> None:
    """A fresh build: the build schemas dropped, then each incremental table in ``carry`` ((schema,
    table) as published) copied into its build schema, so dbt brings it up to date instead of
    rebuilding it whole. The copy is of the incremental table (counts per file), not of the rows
    under it. A model published as something else (a view, before it became incremental) is not
    carried: dbt builds it whole, once."""
    with connect(url) as conn:
        for schema in SCHEMAS:
            conn.execute(sql.SQL("drop schema if exists {} cascade").format(sql.Identifier(schema + BUILD_SUFFIX)))
        for schema, table in carry:
            if _relkind(conn, schema, table) != "r":
                continue  # never built, or not a table yet: dbt builds it whole
            conn.execute(sql.SQL("create schema if not exists {}").format(sql.Identifier(schema + BUILD_SUFFIX)))
            conn.execute(sql.SQL("create table {} as table {}").format(
                sql.Identifier(schema + BUILD_SUFFIX, table), sql.Identifier(schema, table)))


def _built(conn, schema: str, name: str, schema_suffix: str) -> sql.Identifier:
    """The relation as built, or as published when this (partial) build did not rebuild it: the
    audit checks the warehouse as it will be once the build is published."""
    if schema_suffix and _relkind(conn, schema + schema_suffix, name) is not None:
        return sql.Identifier(schema + schema_suffix, name)
    return sql.Identifier(schema, name)


def _wide_spend_problems(conn, contract, spend: sql.Identifier, seen: sql.Composable) -> list[str]:
    """A wide return's files whose spend in fct_spend is not what the file's cells say, or whose spend
    (by the contract's rules) does not add up to the file's own total within the publisher's rounding."""
    from expectations.spend import control_total

    problems = []
    feed = f"{contract.agency}/{contract.feed}"
    files = conn.execute(sql.SQL("select file_id, name from ops.file_ledger l where agency = %s and feed = %s "
                                 "and status = 'published'{} order by 1").format(seen),
                         (contract.agency, contract.feed)).fetchall()
    for file_id, name in files:
        control = control_total(conn, sql.Identifier("raw", contract.key), contract, file_id)
        expected = Decimal(control["spend"])
        loaded = conn.execute(sql.SQL("select coalesce(sum(amount), 0) from {} where feed = %s and file_id = %s"
                                      ).format(spend), (feed, file_id)).fetchone()[0]
        if loaded != expected:
            problems.append(f"{feed} file {file_id} ({name}): the file's spend is £{expected:,.2f}, fct_spend "
                            f"holds £{loaded:,.2f} (difference £{loaded - expected:,.2f})")
        if control["own_total"] is not None:
            own = Decimal(control["own_total"])
            if abs(own - expected) > Decimal(control["rounding_allows"]):
                problems.append(f"{feed} file {file_id} ({name}): the columns the contract counts as spend add up "
                                f"to £{expected:,.2f}, the file's own total says £{own:,.2f} (difference "
                                f"£{own - expected:,.2f}): a spend column is missing from the contract's rules")
    return problems


def audit(url: str, schema_suffix: str = BUILD_SUFFIX, feeds_dir: Path | None = None,
          files: list[int] | None = None) -> list[str]:
    """Every disagreement between the build and the ledger (empty when the build may be published).

    ``files``: the files published when the build started (its selection) - the only ones it can be
    held to. Under a scheduler, partners' files keep being published while a build runs: one published
    after the build read raw is the next build's, not a disagreement of this one (a build once failed
    its audit, and retried, for every council file published while it ran)."""
    problems: list[str] = []
    seen = sql.SQL("") if files is None else sql.SQL(" and l.file_id = any({})").format(sql.Literal(list(files)))
    with connect(url) as conn:
        spend = _built(conn, "marts", "fct_spend", schema_suffix)
        counted = _built(conn, "intermediate", "int_street_crimes_counted", schema_suffix)
        for feed, column in SPEND_FEEDS.items():
            agency, name = feed.split("/")
            rows = conn.execute(sql.SQL(
                "select l.file_id, l.name, (l.report->'control_totals'->>{})::numeric, "
                "(select sum(amount) from {} f where f.feed = %s and f.file_id = l.file_id) "
                "from ops.file_ledger l where l.agency = %s and l.feed = %s and l.status = 'published'{}").format(
                    sql.Literal(column), spend, seen), (feed, agency, name)).fetchall()
            for file_id, file_name, control, loaded in rows:
                if (control or Decimal(0)) != (loaded or Decimal(0)):
                    problems.append(f"{feed} file {file_id} ({file_name}): the file's {column} adds up to {control}, "
                                    f"fct_spend holds {loaded}")
        # wide returns (revenue outturn): the spend counted from the file's published cells by its
        # contract's rules - not by the model's selection of lines - and the file's own total for it
        for contract in load_contracts(feeds_dir or Settings().feeds_dir).values():
            if contract.spend is not None:
                problems += _wide_spend_problems(conn, contract, spend, seen)
        # the incremental counts stand for the rows: a file counted twice, or half, shows here
        crimes = conn.execute(sql.SQL(
            "select l.file_id, l.name, l.rows, (select coalesce(sum(crimes), 0) from {} c where c.file_id = l.file_id) "
            "from ops.file_ledger l where l.agency = 'police' and l.feed = 'street_crime' and l.status = 'published'{}"
        ).format(counted, seen)).fetchall()
        for file_id, file_name, ledger_rows, staged in crimes:
            if ledger_rows != staged:
                problems.append(f"police/street_crime file {file_id} ({file_name}): {ledger_rows} rows published, "
                                f"{staged} in the warehouse")
    return problems


def swap(url: str) -> None:
    """Make the build schemas the published ones, in one transaction (its locks taken with a timeout
    and retried, so a long analyst query neither stalls it nor gets every other query queued behind it)."""
    with connect(url) as conn:
        for schema in SCHEMAS:
            build = schema + BUILD_SUFFIX
            exists = conn.execute("select count(*) from pg_namespace where nspname = %s", (build,)).fetchone()[0]
            if not exists:
                raise AuditFailed(f"schema {build} was not built")

    def rename(conn) -> None:
        for schema in SCHEMAS:
            build, old = schema + BUILD_SUFFIX, schema + OLD_SUFFIX
            conn.execute(sql.SQL("drop schema if exists {} cascade").format(sql.Identifier(old)))
            conn.execute(sql.SQL("alter schema {} rename to {}").format(sql.Identifier(schema), sql.Identifier(old)))
            conn.execute(sql.SQL("alter schema {} rename to {}").format(sql.Identifier(build), sql.Identifier(schema)))
        for schema in SCHEMAS:
            conn.execute(sql.SQL("drop schema {} cascade").format(sql.Identifier(schema + OLD_SUFFIX)))
        grant_marts(conn)  # a renamed schema does not carry the grants of the one it replaces

    with_lock_retries(url, rename, what="publishing the warehouse")
    log.info("published warehouse schemas %s", ", ".join(SCHEMAS))


def publish_relations(url: str, relations: list[tuple[str, str, str]]) -> None:
    """Publish a partial build: each rebuilt relation ((schema, name, materialization) as published)
    replaces its published version, in one transaction; everything else stays as it is.

    The relations are everything downstream of the changed feeds, so whatever depends on one that
    is replaced is itself among them: dropping the old ones (with what depends on them) and moving
    the new ones in leaves no view pointing at a dropped relation.
    """
    def replace(conn) -> None:
        kinds = {}
        for schema, name, _ in relations:
            built = _relkind(conn, schema + BUILD_SUFFIX, name)
            if built is None:
                raise AuditFailed(f"{schema}{BUILD_SUFFIX}.{name} was not built")
            kinds[(schema, name)] = "view" if built == "v" else "table"
        for schema, name, _ in relations:
            old = _relkind(conn, schema, name)
            if old is not None:
                conn.execute(sql.SQL("drop {} if exists {} cascade").format(
                    sql.SQL("view" if old == "v" else "table"), sql.Identifier(schema, name)))
        for schema, name, _ in relations:
            conn.execute(sql.SQL("create schema if not exists {}").format(sql.Identifier(schema)))
            conn.execute(sql.SQL("alter {} {} set schema {}").format(
                sql.SQL(kinds[(schema, name)]), sql.Identifier(schema + BUILD_SUFFIX, name), sql.Identifier(schema)))
        for schema in SCHEMAS:
            conn.execute(sql.SQL("drop schema if exists {} cascade").format(sql.Identifier(schema + BUILD_SUFFIX)))
        grant_marts(conn)

    with_lock_retries(url, replace, what="publishing rebuilt relations")
    log.info("published %d rebuilt relations", len(relations))
