"""The gate: run a feed's expectation suite against one landed file, inside PostgreSQL.

GX turns every expectation into SQL on the file's typed landing table; nothing is pulled into Python
but the counts and a few example rows (by ``_row_number``) for the sender's report.
"""

from __future__ import annotations

import logging
import os
import warnings
from dataclasses import dataclass
from typing import Any

from connectors.header import HeaderMatch
from expectations.suites import build_suite
from totalplace.contracts import Contract
from totalplace.reports import Problem
from totalplace.warehouse import sqlalchemy_url

log = logging.getLogger(__name__)

EXAMPLES_PER_PROBLEM = 10
GATE_APPLICATION = "totalplace-gate"


@dataclass
class GateResult:
    suite: str
    passed: bool
    expectations: int
    problems: list[Problem]
    data_docs: str | None = None
    """GX's Data Docs page of this validation (HTML), rendered from the pass/fail-only result, so it
    holds no value from the file."""


def render_data_docs(outcome: Any) -> str | None:
    """The validation result as GX's own Data Docs page (ValidationResultsPageRenderer). Never fails
    the gate: a rendering problem is logged and the page left out."""
    try:
        from great_expectations.render.renderer import ValidationResultsPageRenderer
        from great_expectations.render.view import DefaultJinjaPageView

        return DefaultJinjaPageView().render(ValidationResultsPageRenderer().render(outcome))
    except Exception:  # noqa: BLE001 - documentation only; the verdict stands without it
        log.warning("could not render the Data Docs page of a validation", exc_info=True)
        return None


def _problem_from(result: Any, match: HeaderMatch) -> Problem:
    config = result.expectation_config
    meta = config.meta or {}
    column = meta.get("column")
    body = result.result or {}
    examples = []
    for item in body.get("partial_unexpected_index_list") or []:
        row = item.get("_row_number")
        value = next((v for k, v in item.items() if k != "_row_number"), None)
        # data row N is line N + header line, as a spreadsheet shows it
        examples.append({"row": row, "line": row + match.header_line if row is not None else None, "value": value})
    rows_failing = body.get("unexpected_count")
    rule = meta.get("rule", config.type)
    if config.type == "expect_table_row_count_to_be_between":
        rule = f"{rule} (it holds {body.get('observed_value')})"
    return Problem(
        check=config.type,
        rule=rule,
        column=column,
        header=match.header_of(column) if column else None,
        rows_failing=rows_failing,
        examples=examples[:EXAMPLES_PER_PROBLEM],
    )


class GateError(RuntimeError):
    """The gate could not judge the file: a check's query raised instead of answering. Never a verdict on
    the file's rows - that quarantined good files with problems that were not in them. Whose fault it is
    follows the database error the query raised (``totalplace.ingest.outcome.fault_of`` reads its
    ``sqlstate``): the
    platform's (the warehouse out of connections, restarting: the task is retried), the file's (a value
    the query cannot compute), or unknown (quarantined with its copy kept, to run again)."""

    def __init__(self, message: str, sqlstate: str | None = None, fault: str | None = None):
        super().__init__(message)
        self.sqlstate = sqlstate
        """The SQLSTATE of the error the query raised, when GX names one."""
        self.fault = fault
        """Whose fault, when the gate knows better than the SQLSTATE."""


def _sqlstate(message: str) -> str | None:
    """The SQLSTATE of the psycopg error GX names at the start of its message, ``(psycopg.errors.X) ...``;
    a connection that failed, which has none, counts as the platform's (08)."""
    import re

    import psycopg

    found = re.search(r"\(psycopg\.(?:errors\.)?(\w+)\)", message)
    if not found:
        return None
    error = getattr(psycopg.errors, found[1], None) or getattr(psycopg, found[1], None)
    if error is not None and getattr(error, "sqlstate", None):
        return error.sqlstate
    if error is not None and issubclass(error, psycopg.OperationalError | psycopg.InterfaceError):
        return "08000"
    return None


def _raised(result: Any) -> str | None:
    """The error an expectation's query raised, if it raised one. GX keeps it in ``exception_info``,
    either flat or by metric, and reports the expectation as failed."""
    info = getattr(result, "exception_info", None) or {}
    entries = [info] if "raised_exception" in info else [v for v in info.values() if isinstance(v, dict)]
    for entry in entries:
        if entry.get("raised_exception"):
            return str(entry.get("exception_message") or "an error")
    return None


def _judged(results: list[Any], table: str) -> list[Any]:
    """The results, once none of them is an error instead of a verdict (GateError otherwise)."""
    for result in results:
        if (error := _raised(result)) is not None:
            raise GateError(f"the gate could not check {result.expectation_config.type} on {table}: {error[:500]}",
                            _sqlstate(error))
    return results


def run_gate(url: str, contract: Contract, schema: str, table: str, match: HeaderMatch) -> GateResult:
    """Validate the table ``schema.table`` (a landed file's typed table) with the contract's suite."""
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    import great_expectations as gx
    from sqlalchemy.pool import NullPool

    context = gx.get_context(mode="ephemeral")
    # No pool: each engine GX makes would keep its connections until the garbage collector found it, and a
    # task gating a share of 75 files held 75 idle sessions - with two such tasks and Airflow's own, the
    # server ran out of connections at national scale. Named, so what is open can be seen.
    source = context.data_sources.add_postgres(
        name="warehouse", connection_string=sqlalchemy_url(url),
        kwargs={"poolclass": NullPool, "connect_args": {"application_name": GATE_APPLICATION}})
    try:
        return _validate(gx, context, source, contract, schema, table, match)
    finally:
        # the queries ran on the execution engine's own SQLAlchemy engine, built from the same arguments
        for engine in (source.get_engine(), source.get_execution_engine().engine):
            engine.dispose()


def _validate(gx, context, source, contract: Contract, schema: str, table: str, match: HeaderMatch) -> GateResult:
    with warnings.catch_warnings():
        # GX 1.24 prefers the schema in the connection's search_path; one data source serves every schema here
        warnings.filterwarnings("ignore", message="`schema_name` is deprecated", category=DeprecationWarning)
        asset = source.add_table_asset(name=table, table_name=table, schema_name=schema)
    batch = asset.add_batch_definition_whole_table("whole file")
    suite = context.suites.add(build_suite(contract))
    definition = context.validation_definitions.add(
        gx.ValidationDefinition(name=f"{contract.suite_name}:{table}", data=batch, suite=suite)
    )
    # GX bundles the counts of every expectation into one scan; example rows need one query each,
    # so they are fetched only for the expectations that failed, in a second pass.
    outcome = definition.run(result_format="BOOLEAN_ONLY")
    problems: list[Problem] = []
    if not outcome.success:
        failed = {id(r.expectation_config): r for r in _judged(outcome.results, table) if not r.success}
        failing = gx.ExpectationSuite(name=f"{contract.suite_name}.failed")
        for result in failed.values():
            config = result.expectation_config
            failing.add_expectation_configuration(config)
        failing = context.suites.add(failing)
        detail = context.validation_definitions.add(
            gx.ValidationDefinition(name=f"{contract.suite_name}:{table}:detail", data=batch, suite=failing)
        ).run(
            result_format={
                "result_format": "SUMMARY",
                "unexpected_index_column_names": ["_row_number"],
                "partial_unexpected_count": EXAMPLES_PER_PROBLEM,
            }
        )
        problems = [_problem_from(r, match) for r in _judged(detail.results, table) if not r.success]
        if not problems:  # the two passes disagree: the data did not change, so something else did
            raise GateError(f"the gate's second pass on {table} found none of the {len(failed)} failures of the "
                            "first", fault="unknown")
    log.info("gate %s on %s: %d expectations, %d failed", contract.suite_name, table, len(outcome.results), len(problems))
    return GateResult(
        suite=contract.suite_name, passed=bool(outcome.success), expectations=len(outcome.results), problems=problems,
        data_docs=render_data_docs(outcome),
    )
