"""What a stage ends with: a file's outcome, and whose fault an error is.

An error loading or checking a file is either the file's (it is quarantined and every other file
goes on), the platform's (the task fails and is run again: nothing is held against the file), or
unknown (quarantined so it stops nothing, with its copy kept to run again).
"""

from __future__ import annotations

from dataclasses import dataclass

from totalplace.reports import Problem


@dataclass
class Outcome:
    file_id: int
    name: str
    status: str
    rows: int | None
    error: str | None


PLATFORM_SQLSTATES = ("08", "28", "3D", "40", "42", "53", "55", "57", "58")
"""Errors of the platform, not of a file: connection (08), authorisation (28, 3D), rollback and
deadlock (40), its own SQL or a half-done upgrade (42: syntax, privileges, undefined objects), resources
such as a full disk (53), locks (55), cancel and shutdown (57), I/O (58)."""


FILE_SQLSTATES = ("22", "23", "54", "XX")
"""Errors a file's content causes: bad data (22), duplicate keys (23), limits such as a row or a cell too
big (54), and internal ones such as an allocation a 300 MB cell asked for (XX)."""


def fault_of(exc: BaseException) -> str:
    """Whose fault an error loading or checking a file is: ``"file"`` (quarantined by itself, and every
    other file goes on), ``"platform"`` (the task fails and is retried: nothing is held against the
    file) or ``"unknown"`` (quarantined so it stops nothing, but its copy is kept to run again)."""
    import csv
    import zipfile

    import psycopg

    if getattr(exc, "fault", None) in ("file", "platform", "unknown"):  # an error that says whose it is
        return exc.fault
    if isinstance(exc, psycopg.Error):
        state = exc.sqlstate or ""
        if isinstance(exc, psycopg.InterfaceError) or not state or state.startswith(PLATFORM_SQLSTATES):
            return "platform"
        return "file" if state.startswith(FILE_SQLSTATES) else "unknown"
    if hasattr(exc, "sqlstate"):  # a database error passed on by a library (the gate's GateError)
        state = exc.sqlstate or ""
        if state.startswith(PLATFORM_SQLSTATES):
            return "platform"
        return "file" if state and state.startswith(FILE_SQLSTATES) else "unknown"
    if isinstance(exc, OSError):  # a full disk, a lost connection, a missing or unreadable kept copy
        return "platform"
    if isinstance(exc, MemoryError | csv.Error | UnicodeError | ValueError | OverflowError | RecursionError
                  | zipfile.BadZipFile | EOFError):
        return "file"
    return "unknown"


def could_not(exc: BaseException, what: str, fault: str) -> Problem:
    text = str(exc).strip().splitlines()[0][:300] if str(exc).strip() else ""
    reason = f"{type(exc).__name__}{': ' + text if text else ''}"
    if fault == "file":
        rule = (f"the file could not be {what} ({reason}); nothing of it was loaded - check it (a cell or a "
                "row far larger than the others, a damaged workbook) and send it again")
    else:
        rule = (f"the platform could not {what.removesuffix('ed')} this file ({reason}) - a fault of the platform, "
                "not necessarily of the file; the file is kept, and the data team has been alerted and will run "
                "it again once the cause is fixed")
    return Problem(check="file_readable", rule=rule)
