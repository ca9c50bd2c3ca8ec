"""A scan of the whole warehouse for person identifiers in clear.

Looks at every text and JSON column of every table in every schema the platform or dbt writes
(landing, raw, quarantine, history, ops, reference, staging, intermediate, marts) for:

- valid NHS numbers (ten digits, spaced 3-3-4 or not, passing the Modulus 11 check), anywhere in
  the value - a report quoting one counts. Any ten digits pass the check one time in eleven, so a
  column is flagged when at least half of the ten-digit numbers in it pass (NHS numbers always do;
  a council's invoice numbers pass about 9% of the time, by chance);
- a full UK postcode anywhere in the value - except in the rows of open and aggregate feeds (no
  person identifiers in their contract: a postcode there is an organisation's, e.g. a GP practice
  or a supplier) and in columns a contract declares ``not_personal``;
- a date of birth: any column named like one that is not a year (a date, a timestamp, or text
  holding a full date).

``make demo`` runs it and prints the result; the test suite runs it on the demo's extracts.
"""

from __future__ import annotations

from dataclasses import dataclass

from psycopg import sql

from totalplace.contracts import load_contracts

SCHEMAS = ("landing", "raw", "quarantine", "history", "ops", "reference", "staging", "intermediate", "marts")
NHS_CANDIDATE = r"(?<![0-9A-Za-z])[0-9]{3}[ -]?[0-9]{3}[ -]?[0-9]{4}(?![0-9A-Za-z])"
POSTCODE = r"(?<![A-Za-z0-9])[A-Z]{1,2}[0-9][A-Z0-9]? ?[0-9][A-Z]{2}(?![A-Za-z0-9])"
FULL_DATE = r"[0-9]{4}-[0-9]{2}-[0-9]{2}|[0-9]{1,2}[/-][0-9]{1,2}[/-][0-9]{2,4}|[0-9]{1,2}-[A-Za-z]{3}-[0-9]{2,4}"


@dataclass
class Finding:
    table: str
    column: str
    kind: str
    rows: int

    def __str__(self) -> str:
        return f"{self.table}.{self.column}: {self.rows} row(s) with {self.kind}"


@dataclass
class ScanResult:
    tables: int
    columns: int
    findings: list[Finding]
    exempt: list[str]


def exempt_columns(contracts) -> dict[str, str]:
    """{raw table.column: reason} of columns contracts declare not about a person."""
    return {f"raw.{c.key}.{col.name}": col.not_personal for c in contracts.values()
            for col in c.columns if col.not_personal}


def feed_of(schema: str, table: str) -> str | None:
    """The feed key of a landing, raw or quarantine table (``<agency>__<feed>[__f<id>[__typed]]``)."""
    if schema not in ("landing", "raw", "quarantine", "history"):
        return None
    return table.split("__f")[0] if "__f" in table else table


def scan(conn, feeds_dir) -> ScanResult:
    """Every table once (a partitioned table through its parent), all its columns in one pass."""
    contracts = load_contracts(feeds_dir)
    exempt = exempt_columns(contracts)
    open_feeds = {key for key, c in contracts.items() if not c.person_identifiers}
    columns = conn.execute(
        "select n.nspname, c.relname, a.attname, format_type(a.atttypid, a.atttypmod) "
        "from pg_class c join pg_namespace n on n.oid = c.relnamespace "
        "join pg_attribute a on a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped "
        "where c.relkind in ('r', 'p') and not c.relispartition "
        "and (n.nspname = any(%s) or n.nspname like any(%s)) order by 1, 2, a.attnum",
        (list(SCHEMAS), [f"{s}\\_\\_%" for s in SCHEMAS])).fetchall()
    by_table: dict[tuple[str, str], list[tuple[str, str]]] = {}
    for schema, table, column, data_type in columns:
        by_table.setdefault((schema, table), []).append((column, data_type))
    findings: list[Finding] = []
    scanned = 0
    for (schema, table), cols in by_table.items():
        feed = feed_of(schema, table)
        name = f"{schema}.{table}"
        checks: list[tuple[str, str, sql.Composable]] = []
        for column, data_type in cols:
            col = sql.Identifier(column)
            birth = "birth" in column.lower() or column.lower() in ("dob", "d_o_b")
            if birth and (data_type == "date" or data_type.startswith("timestamp")):
                checks.append((column, "a date of birth (a full date)", sql.SQL("count({})").format(col)))
                continue
            if data_type not in ("text", "character varying", "jsonb", "json"):
                continue
            scanned += 1
            value = sql.SQL("{}::text").format(col)
            # ten-digit numbers found, and how many pass the check digit (a cheap test first)
            matches = sql.SQL("case when {v} ~ {quick} then (select {agg} from regexp_matches({v}, {p}, 'g') as m) "
                              "else 0 end")
            for kind, agg in (("nhs candidates", "count(*)"),
                              ("nhs valid", "count(*) filter (where ops.is_nhs_number(m[1]))")):
                checks.append((column, kind, sql.SQL("sum({})").format(matches.format(
                    v=value, quick=sql.Literal("[0-9]{3}[ -]?[0-9]{3}[ -]?[0-9]{4}"), agg=sql.SQL(agg),
                    p=sql.Literal(f"({NHS_CANDIDATE})")))))
            if feed not in open_feeds and f"raw.{feed}.{column}" not in exempt:
                checks.append((column, "a full postcode",
                               sql.SQL("count(*) filter (where {} ~ {})").format(value, sql.Literal(POSTCODE))))
            if birth:
                checks.append((column, "a date of birth (a full date)",
                               sql.SQL("count(*) filter (where {} ~ {})").format(value, sql.Literal(FULL_DATE))))
        if not checks:
            continue
        counts = conn.execute(sql.SQL("select {} from {}").format(
            sql.SQL(", ").join(c for _, _, c in checks), sql.Identifier(schema, table))).fetchone()
        found: dict[tuple[str, str], int] = {(column, kind): int(n or 0)
                                             for (column, kind, _), n in zip(checks, counts, strict=True)}
        for (column, kind), n in found.items():
            if kind == "nhs valid":
                candidates = found[(column, "nhs candidates")]
                if n and n * 2 >= candidates:
                    findings.append(Finding(name, column, f"a valid NHS number ({n} of {candidates} ten-digit "
                                                          "numbers)", n))
            elif kind != "nhs candidates" and n:
                findings.append(Finding(name, column, kind, n))
    return ScanResult(len(by_table), scanned, findings, sorted(exempt)
                      + ["postcodes in the rows of feeds without person identifiers (organisations' addresses)"])
