"""Feed contracts: one YAML file per feed under ``feeds/<agency>/<feed>.yml``.

The contract is the single source of truth for a feed. From it come the connector's header
mapping, the landing and raw table definitions, the typed view the gate reads, the Great
Expectations suite and the dbt source. A contract that does not parse fails here with the file
name and the offending field, before any data is touched.
"""

from __future__ import annotations

import re
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

SNAKE = re.compile(r"^[a-z][a-z0-9_]*$")

ColumnType = Literal["text", "integer", "number", "money", "month", "date", "timestamp"]

def money_pattern(decimals: int = 2) -> str:
    """Amounts as councils write them, with at most ``decimals`` places (2: pence): 1500, 1496.00,
    "1,496.00", £1,496.00, -3,956, (1,496.00), and credits written after the figure as finance
    systems print them - 1,043.00- or 1,043.00 CR."""
    amount = rf"([0-9]{{1,3}}(,[0-9]{{3}})+|[0-9]+)(\.[0-9]{{1,{decimals}}})?"
    return rf"^(\(£?{amount}\)|[-+]?£?[-+]?{amount}|£?{amount} ?(-|[Cc][Rr]))$"


NOISY_NUMBER_PATTERN = r"^[-+]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][-+]?[0-9]{1,3})?$"
"""A number as a program wrote it: float noise (123.45000000000002) or scientific notation (1.2E-13).
Taken as money only when it is within FLOAT_NOISE of a figure in whole pence (of the column's
decimals), then rounded to it - and the report counts such values."""
FLOAT_NOISE = "0.000001"


MONEY_PATTERN = money_pattern()

# Date formats a contract may list for a date column: name -> (pattern, SQL giving an ISO date text of ``{t}``).
DATE_FORMATS: dict[str, tuple[str, str]] = {
    "YYYY-MM-DD": (r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$", "{t}"),
    "DD/MM/YYYY": (r"^[0-9][0-9]?/[0-9][0-9]?/[0-9]{4}$",
                   "split_part({t}, '/', 3) || '-' || split_part({t}, '/', 2) || '-' || split_part({t}, '/', 1)"),
    # a two-digit year 00-68 is 2000-2068, 69-99 is 1969-1999 (the POSIX rule, Python's strptime too)
    "DD/MM/YY": (r"^[0-9][0-9]?/[0-9][0-9]?/[0-9]{2}$",
                 "(case when split_part({t}, '/', 3)::int < 69 then '20' else '19' end) || split_part({t}, '/', 3) "
                 "|| '-' || split_part({t}, '/', 2) || '-' || split_part({t}, '/', 1)"),
    "DD-Mon-YY": (r"^[0-9][0-9]?-[A-Za-z]{3}-[0-9]{2}$", "{t}"),
    "DD-Mon-YYYY": (r"^[0-9][0-9]?-[A-Za-z]{3}-[0-9]{4}$", "{t}"),
    # "3 Apr 2023", "03 April 2023", "3 Sept. 2023": the day, the month's name (or its first three
    # letters), the year
    "D Month YYYY": (r"^[0-9][0-9]? ([Jj]an(uary)?|[Ff]eb(ruary)?|[Mm]ar(ch)?|[Aa]pr(il)?|[Mm]ay|[Jj]une?|[Jj]uly?|"
                     r"[Aa]ug(ust)?|[Ss]ep(t|tember)?|[Oo]ct(ober)?|[Nn]ov(ember)?|[Dd]ec(ember)?)\.? [0-9]{4}$",
                     "split_part({t}, ' ', 3) || '-' || (case lower(left(split_part({t}, ' ', 2), 3)) "
                     + " ".join(f"when '{m}' then '{i:02d}'" for i, m in enumerate(
                         ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"], start=1))
                     + " else '00' end) || '-' || lpad(split_part({t}, ' ', 1), 2, '0')"),
    # a date and time where a date is wanted (2017-04-03T00:00:00, an Excel date cell carrying 01:00 of
    # British Summer Time): the date is what counts
    "ISO datetime": (r"^[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]+)?)?(Z|[+-][0-9]{2}:?[0-9]{2})?$",
                     "left({t}, 10)"),
    # NHS Digital extracts: 01JAN2021
    "DDMONYYYY": (r"^[0-9]{2}[A-Za-z]{3}[0-9]{4}$",
                  "substr({t}, 6, 4) || '-' || (case upper(substr({t}, 3, 3)) "
                  + " ".join(f"when '{m}' then '{i:02d}'" for i, m in enumerate(
                      ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"], start=1))
                  + " else '00' end) || '-' || substr({t}, 1, 2)"),
    # Excel's 1900 date system; serials below 61 are refused (Excel counts a 29 February 1900 that never was)
    # NHS ODS extracts: 19740401
    "YYYYMMDD": (r"^(19|20)[0-9]{6}$", "substr({t}, 1, 4) || '-' || substr({t}, 5, 2) || '-' || substr({t}, 7, 2)"),
    "excel_serial": (r"^[0-9]{2,5}$", "case when {t}::int >= 61 then (date '1899-12-30' + {t}::int)::text end"),
}

# Text a value must match before it is cast; the gate checks it, so the publish casts cannot fail.
TYPE_PATTERNS: dict[str, str] = {
    "integer": r"^[+-]?[0-9]+$",
    "number": r"^[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?$",
    "month": r"^[0-9]{4}-(0[1-9]|1[0-2])$",
    "date": r"^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$",
    "timestamp": r"^[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]+)?)?(Z|[+-][0-9]{2}(:?[0-9]{2})?)?$",
}
TYPE_DESCRIPTIONS: dict[str, str] = {
    "integer": "a whole number",
    "number": "a number",
    "money": "an amount in pounds such as 1496.00, 1,496.00, £1,496.00 or (1,496.00)",
    "timestamp": "a date and time such as 2020-01-31T14:05:00+00:00",
    "month": "a month written YYYY-MM, e.g. 2020-01",
    "date": "a date written YYYY-MM-DD",
}
SQL_TYPES: dict[str, str] = {
    "text": "text",
    "integer": "bigint",
    "number": "double precision",
    "money": "numeric(18, 2)",
    "timestamp": "timestamp with time zone",
    "month": "date",
    "date": "date",
}


class ContractError(ValueError):
    """A feed contract is missing or malformed."""


def normalise_header(name: str) -> str:
    """Header comparison key: case- and whitespace-insensitive, BOM and quotes ignored."""
    return " ".join(name.replace("\ufeff", "").strip().strip('"').split()).casefold()


class Owner(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    email: str


class Column(BaseModel):
    """One column as the publisher sends it and as the warehouse stores it."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(description="snake_case name in landing, raw and dbt")
    header: str = Field(description="the header as the publisher writes it")
    aliases: list[str] = Field(default_factory=list, description="other headers seen for this column")
    type: ColumnType = "text"
    required: bool = Field(default=True, description="the header must be present in the file")
    nullable: bool = Field(default=True, description="cells may be empty")
    pattern: str | None = Field(default=None, description="regular expression every non-empty value matches")
    pattern_description: str | None = None
    length: int | None = Field(default=None, ge=1, description="exact length of every non-empty value")
    formats: list[str] = Field(default_factory=lambda: ["YYYY-MM-DD"],
                               description=f"date formats accepted, any of {sorted(DATE_FORMATS)}")
    allowed_values: list[str] | None = None
    min: float | None = None
    max: float | None = None
    range_description: str | None = None
    suppression_markers: list[str] = Field(
        default_factory=list,
        description='cells meaning "withheld", e.g. .., -, *, c, x: stored as NULL with <name>_suppressed true, never as 0',
    )
    decimals: int = Field(
        default=2, ge=0, le=6,
        description="money only: decimal places a value may have - 2 for pounds and pence; a figure in "
        "£ thousand written to the penny has 5 (MHCLG's returns from 2024-25)")
    thousands_separator: Literal[","] | None = Field(
        default=None, description='numbers may group thousands, e.g. "1,954" (the separator is removed)'
    )
    identifier: Literal["nhs_number", "person_key", "date_of_birth", "name", "postcode"] | None = Field(
        default=None,
        description="a person identifier, replaced before landing: nhs_number and person_key by a keyed "
        "hash (NHS numbers checked, <name>_is_valid), date_of_birth by the year of birth, postcode by "
        "its LSOA; a name is only used for the contract's match_key and never lands",
    )
    default: Literal["sender"] | None = Field(
        default=None,
        description="sender: where the column is absent or a cell empty, the value is the body that sent the "
        "file (its SFTP account's partner) - e.g. a council that does not repeat its own name on every line")
    not_personal: str | None = Field(
        default=None,
        description="why a column that looks like a person identifier is not one (e.g. the postcode of a public "
        "building); the warehouse privacy scan lets it be and lists it",
    )
    source: Literal["header", "preamble", "file_name"] = Field(
        default="header",
        description="where the value comes from: a column of the file (matched by header), or text the "
        "publisher puts once per file - the title rows above the header, or the file's name",
    )
    extract: str | None = Field(
        default=None,
        description="for source preamble / file_name: regular expression whose first group is the value, "
        "e.g. '(20[0-9]{2}-[0-9]{2})' for a financial year in a title",
    )
    description: str = ""

    @field_validator("name")
    @classmethod
    def _snake(cls, v: str) -> str:
        if not SNAKE.match(v) or v.startswith("_"):
            raise ValueError(f"column name {v!r} must be snake_case and not start with '_'")
        return v

    @field_validator("pattern")
    @classmethod
    def _regex(cls, v: str | None) -> str | None:
        if v is not None:
            re.compile(v)
        return v

    @field_validator("formats")
    @classmethod
    def _known_formats(cls, v: list[str]) -> list[str]:
        unknown = [f for f in v if f not in DATE_FORMATS]
        if unknown or not v:
            raise ValueError(f"unknown date formats {unknown}; use any of {sorted(DATE_FORMATS)}")
        return v

    @field_validator("extract")
    @classmethod
    def _one_group(cls, v: str | None) -> str | None:
        if v is not None and re.compile(v).groups < 1:
            raise ValueError(f"extract {v!r} needs one (group) around the value")
        return v

    @property
    def from_file(self) -> bool:
        """True when the value is read from the file's header row, not from its title or name."""
        return self.source == "header"

    @property
    def type_description(self) -> str:
        if self.type == "date":
            return "a date written " + " or ".join(f for f in self.formats if f != "excel_serial") + (
                " (or an Excel date number)" if "excel_serial" in self.formats else "")
        if self.type == "money" and self.decimals != 2:
            return f"an amount such as 1496.5, 1,496.5 or (1,496.5), with at most {self.decimals} decimal places"
        return TYPE_DESCRIPTIONS[self.type]

    @model_validator(mode="after")
    def _numeric_options(self) -> Column:
        numeric = self.type in ("integer", "number", "money")
        if (self.min is not None or self.max is not None) and not numeric:
            raise ValueError(f"column {self.name}: min/max need type integer or number, not {self.type}")
        if self.thousands_separator and not numeric:
            raise ValueError(f"column {self.name}: thousands_separator needs type integer or number")
        if self.default is not None and (self.type != "text" or self.identifier is not None):
            raise ValueError(f"column {self.name}: a default of the sender is for a text column that is not a person's")
        if self.decimals != 2 and self.type != "money":
            raise ValueError(f"column {self.name}: decimals are for type money")
        if self.suppression_markers and not numeric:
            raise ValueError(f"column {self.name}: suppression_markers need type integer, number or money")
        if self.identifier == "date_of_birth" and self.type != "integer":
            raise ValueError(f"column {self.name}: a date_of_birth identifier is kept as the year of birth: type integer")
        if self.identifier in ("nhs_number", "person_key", "name", "postcode") and self.type != "text":
            raise ValueError(f"column {self.name}: a {self.identifier} identifier becomes text (a hash, an "
                             "LSOA code or nothing): type text")
        if (self.source == "header") == (self.extract is not None):
            raise ValueError(f"column {self.name}: extract is needed with source {self.source!r}, and only then")
        return self

    @property
    def derived_columns(self) -> list[tuple[str, str, str]]:
        """(name, SQL type, description) of the columns raw adds for this one: suppression and validity flags."""
        out = []
        if self.flag_column:
            out.append((self.flag_column, "boolean",
                        f"True where the publisher withheld {self.header!r} ({', '.join(self.suppression_markers)})."))
        if self.identifier == "nhs_number":
            out.append((f"{self.name}_is_valid", "boolean",
                        f"False where {self.header!r} failed the NHS number check digit (kept, pseudonymised)."))
        return out

    @property
    def stored(self) -> bool:
        """False for a name: it only feeds the match key, and no column of the warehouse holds it."""
        return self.identifier != "name"

    @property
    def invalid_column(self) -> str:
        """``<name>__invalid`` of the typed table: the text of a cell that does not parse as the column's
        type (``''`` for an empty cell that must not be empty), else NULL - what the gate expects NULL."""
        return f"{self.name}__invalid"

    @property
    def flag_column(self) -> str | None:
        """``<name>_suppressed``: true where the publisher withheld the value (only with suppression_markers)."""
        return f"{self.name}_suppressed" if self.suppression_markers else None

    @property
    def sql_type(self) -> str:
        if self.type == "money":  # 16 digits before the point whatever the places after it
            return f"numeric({16 + self.decimals}, {self.decimals})"
        return SQL_TYPES[self.type]

    @property
    def value_pattern(self) -> str | None:
        """Regular expression a non-empty cell must match to be cast to the column's type."""
        if self.type == "text":
            return None
        if self.type == "money":
            return money_pattern(self.decimals)
        if self.thousands_separator and self.type in ("integer", "number"):
            sep = re.escape(self.thousands_separator)
            whole = rf"([0-9]{{1,3}}({sep}[0-9]{{3}})+|[0-9]+)"
            return rf"^[+-]?{whole}$" if self.type == "integer" else rf"^[+-]?{whole}(\.[0-9]+)?$"
        return TYPE_PATTERNS[self.type]

    @property
    def header_keys(self) -> set[str]:
        return {normalise_header(h) for h in (self.header, self.name, *self.aliases)}


class PlaceKey(BaseModel):
    model_config = ConfigDict(extra="forbid")
    column: str
    level: Literal["lsoa", "msoa", "ward", "lad", "utla", "practice", "postcode", "force"]


class PeriodKey(BaseModel):
    model_config = ConfigDict(extra="forbid")
    column: str
    grain: Literal["month", "quarter", "financial_year", "year", "date"]


class FileFormat(BaseModel):
    model_config = ConfigDict(extra="forbid")
    type: Literal["csv", "geojson"] = Field(
        default="csv",
        description="csv (or a spreadsheet, told by its bytes); geojson: a FeatureCollection read as one row per "
        "feature - its properties by name, its shape in a column 'geometry' (GeoJSON text)")
    encoding: Literal["auto", "utf-8", "cp1252", "mac_roman"] = Field(
        default="auto",
        description="auto: UTF-8 (with or without BOM) when the bytes are valid UTF-8, else Windows-1252; "
        "Mac Roman cannot be told from Windows-1252 by its bytes, so a feed sent from old Mac Excel says so",
    )
    delimiter: str = ","
    header: bool = Field(
        default=True,
        description="false for files with no header row (e.g. NHS ODS extracts): the columns are the "
        "contract's, in the contract's order",
    )
    sheet: str | None = Field(default=None, description="for Excel files: the sheet to read (default: the one whose header matches)")
    max_columns: int = Field(
        default=1000, ge=1, le=1500,
        description="a file with more columns than this is refused at once, before anything is loaded "
        "(PostgreSQL takes at most 1,600 columns in a table, and a 100,000-column 'CSV' is not an extract)")


class TotalsRows(BaseModel):
    """Rows a publisher adds that sum the others ("Total", "ENGLAND", "LONDON BOROUGHS")."""

    model_config = ConfigDict(extra="forbid")
    columns: list[str] = Field(description="text columns that carry the totals label")
    pattern: str = Field(
        default=r"^(grand |sub-?)?totals?:?$",
        description="case-insensitive regular expression a whole label cell matches on a totals row",
    )
    grand_total: str | None = Field(
        default=None,
        description="label pattern of the row the file's data must add up to (default: the last totals row)",
    )
    reconcile: bool = Field(
        default=True,
        description="the money columns of the data rows must add up to the grand total, else the file is rejected",
    )
    tolerance: float = Field(default=0, ge=0, description="allowed difference in reconciliation (e.g. rounding)")

    @field_validator("pattern", "grand_total")
    @classmethod
    def _regex(cls, v: str | None) -> str | None:
        if v is not None:
            re.compile(v)
        return v


class Due(BaseModel):
    """When a partner's file for this feed is expected: a file every month / quarter / year, by a day."""

    model_config = ConfigDict(extra="forbid")
    every: Literal["month", "quarter", "year"]
    by_day: int = Field(ge=1, le=28, description="day of the month the file is due by")
    by_month: int = Field(default=1, ge=1, le=12,
                          description="for quarterly and yearly feeds: a month the file is due in (e.g. 7 for July)")

    def describe(self) -> str:
        months = ["", "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        when = {"month": "every month", "quarter": f"every quarter (from {months[self.by_month]})",
                "year": f"every year in {months[self.by_month]}"}[self.every]
        return f"{when} by day {self.by_day}"


class Unpivot(BaseModel):
    """A wide table (one column per service line) read as one row per cell.

    Every header that is not one of the contract's own columns is a measure: its header text
    goes into ``key_column`` and its cell into ``value_column``. Columns with an empty header are
    kept aside in ``_extra`` like any unknown column.
    """

    model_config = ConfigDict(extra="forbid")
    key_column: str
    value_column: str
    row_total: str | None = Field(
        default=None,
        description="a column of the file holding each row's own total of its values (e.g. 'All ages'): every "
        "row's values must add up to it exactly, else the file is refused naming the lines - a lost or "
        "doubled column shows there, checked against the publisher's own figure")


def spend_header_key(header: str) -> str:
    """A wide table's column header as the ``spend`` rules match it: case and runs of spaces ignored,
    and a hyphen always spaced (" - "): MHCLG writes "Education services- Net Current Expenditure"
    beside "Highways and transport services -  Net Current Expenditure"."""
    return re.sub(r"\s*-\s*", " - ", normalise_header(header))


class SpendColumn(BaseModel):
    """One rule of ``spend.columns``: the columns whose header it matches are spend, the file's own
    total of the spend, or money that is not spend (with the reason)."""

    model_config = ConfigDict(extra="forbid")
    match: str = Field(description="regular expression searched in the header (see spend_header_key)")
    role: Literal["spend", "own_total", "not_spend"]
    reason: str = Field(default="", description="why this money is not spend, or what the total is")

    @field_validator("match")
    @classmethod
    def _regex(cls, v: str) -> str:
        re.compile(v)
        return v

    @model_validator(mode="after")
    def _reasoned(self) -> SpendColumn:
        if self.role != "spend" and not self.reason.strip():
            raise ValueError(f"spend column rule {self.match!r} ({self.role}) needs a reason")
        return self


class Spend(BaseModel):
    """Which money of a wide table is spend, and what the file itself says it adds up to.

    Every column of a row that counts (``rows_where``) must match a rule - the first that matches
    decides - so no money column is left out without a reason. Where the file gives its own total
    (``own_total``), every row's spend must add up to it within the publisher's rounding, checked at
    intake from the file's cells: a rule that drops a service line rejects the file, naming the row.
    The spend of a published file, to the pound, is its control total in the ledger, which the
    warehouse audit compares with fct_spend before publishing."""

    model_config = ConfigDict(extra="forbid")
    columns: list[SpendColumn]
    rows_where: dict[str, list[str]] = Field(
        default_factory=dict, description="only rows whose column holds one of these values are spend "
        "(e.g. return_code: [RO]: an RA budget is planned, not spent)")
    unit: int = Field(default=1, ge=1, description="pounds per unit of the value (1000: £ thousand)")
    rounding: float = Field(default=0, ge=0, description="the unit each value was rounded to, in the "
                            "file's units: a row's parts may differ from its own total by half of it per value")

    def rule_for(self, header: str) -> SpendColumn | None:
        key = spend_header_key(header)
        return next((r for r in self.columns if re.search(r.match, key)), None)


class Contract(BaseModel):
    """A feed contract (see ``feeds/police/street_crime.yml`` for a documented example)."""

    model_config = ConfigDict(extra="forbid")

    agency: str
    feed: str
    title: str
    description: str = ""
    publisher: str = ""
    owner: Owner
    schedule: str = Field(default="@monthly", description="how often files are expected (cron or preset), shown by `totalplace feeds`; files are taken as they arrive, and `due` drives the submissions calendar")
    format: FileFormat = Field(default_factory=FileFormat)
    place_key: PlaceKey | None = None
    period_key: PeriodKey | None = None
    person_identifiers: list[str] = Field(default_factory=list)
    min_rows: int = Field(default=1, ge=0)
    totals_rows: TotalsRows | None = None
    unpivot: Unpivot | None = None
    spend: Spend | None = Field(default=None, description="which money of a wide table is spend (unpivot only)")
    publisher_column: str | None = Field(
        default=None, description="the column naming the body that published each row (e.g. a council's "
        "'Body Name'): the ledger records the bodies a file names as its publisher, not only who sent it")
    due: Due | None = Field(default=None, description="when files are expected; late or missing ones alert")
    unique: list[str] | None = Field(
        default=None,
        description="columns whose values together name one row of the file (e.g. [e_code]: one row per "
        "authority): a file repeating them is refused, naming the lines - a row pasted twice would count twice")
    supersedes_on: list[str] | None = Field(
        default=None,
        description="columns saying what a file is a submission of (e.g. [month]; dates count by month): a "
        "later file from the same sender covering every value an earlier published file covered replaces it "
        "(the earlier one becomes superseded, its rows kept in history)",
    )
    match_key: list[str] | None = Field(
        default=None,
        description="identifier columns (names, date of birth, postcode) whose normalised values make the "
        "keyed-hash match_key, linking people across agencies that share no ID",
    )
    columns: list[Column]

    @field_validator("agency", "feed")
    @classmethod
    def _snake(cls, v: str) -> str:
        if not SNAKE.match(v):
            raise ValueError(f"{v!r} must be snake_case")
        return v

    @model_validator(mode="after")
    def _consistent(self) -> Contract:
        names = [c.name for c in self.columns]
        dupes = {n for n in names if names.count(n) > 1}
        if dupes:
            raise ValueError(f"duplicate column names: {sorted(dupes)}")
        seen: dict[str, str] = {}
        for col in self.columns:
            for key in col.header_keys:
                if key in seen and seen[key] != col.name:
                    raise ValueError(f"header {key!r} maps to both {seen[key]} and {col.name}")
                seen[key] = col.name
        for key in (self.place_key, self.period_key):
            if key is not None and key.column not in names:
                raise ValueError(f"key column {key.column!r} is not a contract column")
        for pid in self.person_identifiers:
            if pid not in names:
                raise ValueError(f"person identifier {pid!r} is not a contract column")
        from totalplace.identifiers import IDENTIFIER_HEADER

        for col in self.columns:
            if col.identifier is None and any(IDENTIFIER_HEADER.search(h) for h in (col.header, *col.aliases)):
                raise ValueError(f"column {col.name} ({col.header!r}) names a person identifier: declare its "
                                 "identifier kind (nhs_number, person_key, date_of_birth, name, postcode)")
        marked = {c.name for c in self.columns if c.identifier}
        if marked != set(self.person_identifiers):
            raise ValueError(f"person_identifiers {sorted(self.person_identifiers)} must list exactly the columns "
                             f"with an identifier kind {sorted(marked)}")
        if self.unpivot is not None and self.unpivot.row_total is not None:
            total = self.column_by_name.get(self.unpivot.row_total)
            if total is None or total.type not in ("integer", "number", "money"):
                raise ValueError(f"unpivot.row_total {self.unpivot.row_total!r} must be a numeric contract column")
        for name in self.unique or []:
            if name not in names:
                raise ValueError(f"unique column {name!r} is not a contract column")
        for name in self.supersedes_on or []:
            if name not in names:
                raise ValueError(f"supersedes_on column {name!r} is not a contract column")
        for name in self.match_key or []:
            if name not in names or self.column_by_name[name].identifier not in ("name", "date_of_birth", "postcode"):
                raise ValueError(f"match_key column {name!r} must be a name, date_of_birth or postcode identifier")
        if self.match_key is not None and "match_key" in names:
            raise ValueError("'match_key' is the name of the derived match key; rename that column")
        if self.totals_rows is not None:
            for name in self.totals_rows.columns:
                if name not in names or self.column_by_name[name].type != "text":
                    raise ValueError(f"totals_rows column {name!r} must be a text column of the contract")
        if self.unpivot is not None:
            for name in (self.unpivot.key_column, self.unpivot.value_column):
                if name not in names:
                    raise ValueError(f"unpivot column {name!r} is not a contract column")
            if self.column_by_name[self.unpivot.key_column].type != "text":
                raise ValueError("unpivot key_column must be a text column")
        if self.publisher_column is not None and self.publisher_column not in names:
            raise ValueError(f"publisher_column {self.publisher_column!r} is not a contract column")
        if self.spend is not None:
            if self.unpivot is None or self.column_by_name[self.unpivot.value_column].type != "money":
                raise ValueError("spend rules are for a wide table whose unpivoted value is money")
            for name in self.spend.rows_where:
                if name not in names:
                    raise ValueError(f"spend.rows_where column {name!r} is not a contract column")
        return self

    # ---- names derived from the contract, used everywhere ----
    @property
    def key(self) -> str:
        """``<agency>__<feed>``: the raw table name and the stem of every other name."""
        return f"{self.agency}__{self.feed}"

    @property
    def dag_id(self) -> str:
        return f"ingest_{self.key}"

    @property
    def suite_name(self) -> str:
        return f"{self.agency}.{self.feed}.landing"

    @property
    def asset_uri(self) -> str:
        """The Airflow asset a successful publish updates; the dbt build DAG is scheduled on it."""
        return f"totalplace://raw/{self.key}"

    @property
    def raw_columns(self) -> list[tuple[str, str, str]]:
        """(name, SQL type, description) of the contract's columns in raw, suppression flags included."""
        out = []
        for c in self.stored_columns:
            out.append((c.name, c.sql_type, c.description or c.header))
            out.extend(c.derived_columns)
        if self.match_key:
            sources = ", ".join(self.column_by_name[n].header for n in self.match_key)
            out.append(("match_key", "text", f"Keyed hash of the normalised {sources} as sent (full date of birth "
                        "and postcode): links people across agencies without a common ID; empty when a part is missing."))
        return out

    @property
    def stored_columns(self) -> list[Column]:
        """The columns that reach the warehouse (names do not)."""
        return [c for c in self.columns if c.stored]

    @cached_property
    def column_by_name(self) -> dict[str, Column]:
        return {c.name: c for c in self.columns}

    @property
    def header_columns(self) -> list[Column]:
        """The columns matched against the file's header row (not the unpivoted or per-file ones)."""
        unpivoted = {self.unpivot.key_column, self.unpivot.value_column} if self.unpivot else set()
        return [c for c in self.columns if c.from_file and c.name not in unpivoted]

    @property
    def row_key(self) -> list[str]:
        """Columns identifying a published row: the file's row, and for a wide table the column too."""
        return ["_file_id", "_row_number"] + (["_column_number"] if self.unpivot else [])

    @property
    def money_columns(self) -> list[str]:
        return [c.name for c in self.columns if c.type == "money"]


YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
"""libyaml's safe loader when PyYAML was built with it: parsing the ~50 contracts with the pure-Python
one took 0.5 s, paid by every DAG file parse and every task that reads the contracts."""


def read_yaml(path: Path):
    return yaml.load(path.read_text(encoding="utf-8"), Loader=YAML_LOADER)  # noqa: S506 - a safe loader


def load_contract(path: Path) -> Contract:
    try:
        data = read_yaml(path)
    except (OSError, yaml.YAMLError) as exc:
        raise ContractError(f"{path}: cannot read contract: {exc}") from exc
    try:
        contract = Contract.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or '(top)'}: {err['msg']}" for err in exc.errors()
        )
        raise ContractError(f"{path}: invalid contract: {problems}") from exc
    expected = (path.parent.name, path.stem)
    if (contract.agency, contract.feed) != expected:
        raise ContractError(
            f"{path}: agency/feed say {contract.agency}/{contract.feed} but the file lives at {'/'.join(expected)}"
        )
    return contract


def load_contracts(feeds_dir: Path) -> dict[str, Contract]:
    """Every contract under ``feeds_dir``, keyed by ``<agency>__<feed>``."""
    contracts = {}
    for path in sorted(feeds_dir.glob("*/*.yml")):
        c = load_contract(path)
        contracts[c.key] = c
    return contracts


def get_contract(feeds_dir: Path, agency: str, feed: str) -> Contract:
    path = feeds_dir / agency / f"{feed}.yml"
    if not path.exists():
        known = ", ".join(sorted(f"{p.parent.name}/{p.stem}" for p in feeds_dir.glob("*/*.yml"))) or "none"
        raise ContractError(f"no feed {agency}/{feed} (no {path}); known feeds: {known}")
    return load_contract(path)


@lru_cache(maxsize=16)
def _read_model(path: Path, mtime: float, model: type[BaseModel], kind: str) -> BaseModel:
    try:
        return model.model_validate(read_yaml(path))
    except (OSError, yaml.YAMLError, ValidationError) as exc:
        raise ContractError(f"{path}: invalid {kind} file: {exc}") from exc


def load_yaml_model(path: Path, model: type[BaseModel], kind: str) -> BaseModel:
    """A YAML settings file (partners, agreements) as a pydantic model; cached until the file changes.
    A file that does not parse fails with its path and the offending field."""
    return _read_model(path, path.stat().st_mtime if path.exists() else 0.0, model, kind)
