"""A scan of the whole warehouse for person identifiers in clear.

Looks at every text and JSON column of every table in every schema the platform or dbt writes
(landing, raw, quarantine, ops, reference, staging, intermediate, marts) for:

- a valid NHS number (ten digits, spaced 3-3-4 or not, passing the Modulus 11 check), anywhere in
  the value - a report quoting one counts;
- a full UK postcode anywhere in the value, except in columns a feed contract declares not about a
  person (``not_personal``, e.g. the postcode of a public building);
- a date of birth: any column named like one that is not a year (a date, a timestamp, or text
  holding a full date).

``make demo`` runs it and prints the result; the test suite runs it on the demo's extracts.
"""

from __future__ import annotations

from dataclasses import dataclass

from psycopg import sql

from totalplace.contracts import load_contracts

SCHEMAS = ("landing", "raw", "quarantine", "ops", "reference", "staging", "intermediate", "marts")
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


def exempt_columns(feeds_dir) -> dict[str, str]:
    """{raw table.column: reason} of columns contracts declare not about a person."""
    return {f"raw.{c.key}.{col.name}": col.not_personal for c in load_contracts(feeds_dir).values()
            for col in c.columns if col.not_personal}


def scan(conn, feeds_dir) -> ScanResult:
    exempt = exempt_columns(feeds_dir)
    columns = conn.execute(
        "select c.table_schema, c.table_name, c.column_name, c.data_type from information_schema.columns c "
        "join information_schema.tables t on t.table_schema = c.table_schema and t.table_name = c.table_name "
        "where t.table_type = 'BASE TABLE' and (c.table_schema = any(%s) or c.table_schema like any(%s)) "
        "order by 1, 2, c.ordinal_position",
        (list(SCHEMAS), [f"{s}\\_\\_%" for s in SCHEMAS])).fetchall()
    findings: list[Finding] = []
    tables = set()
    scanned = 0
    for schema, table, column, data_type in columns:
        tables.add((schema, table))
        # partitions of a raw table: exempt like their parent
        parent = table.split("__f")[0] if schema == "raw" else table
        name = f"{schema}.{table}"
        ident = sql.Identifier(schema, table)
        col = sql.Identifier(column)
        birth = "birth" in column.lower() or column.lower() in ("dob", "d_o_b")
        if birth and data_type in ("date", "timestamp with time zone", "timestamp without time zone"):
            rows = conn.execute(sql.SQL("select count({}) from {}").format(col, ident)).fetchone()[0]
            if rows:
                findings.append(Finding(name, column, "a date of birth (a full date)", rows))
            continue
        if data_type not in ("text", "character varying", "jsonb", "json"):
            continue
        scanned += 1
        value = sql.SQL("{}::text").format(col)
        checks = [
            ("a valid NHS number", sql.SQL(
                "exists (select 1 from regexp_matches({v}, {p}, 'g') as m where ops.is_nhs_number(m[1]))").format(
                v=value, p=sql.Literal(f"({NHS_CANDIDATE})"))),
        ]
        if f"raw.{parent}.{column}" not in exempt:
            checks.append(("a full postcode", sql.SQL("{} ~ {}").format(value, sql.Literal(POSTCODE))))
        if birth:
            checks.append(("a date of birth (a full date)", sql.SQL("{} ~ {}").format(value, sql.Literal(FULL_DATE))))
        counts = conn.execute(sql.SQL("select {} from {}").format(
            sql.SQL(", ").join(sql.SQL("count(*) filter (where {})").format(c) for _, c in checks), ident)).fetchone()
        findings += [Finding(name, column, kind, n) for (kind, _), n in zip(checks, counts, strict=True) if n]
    return ScanResult(len(tables), scanned, findings, sorted(exempt))
