"""Great Expectations suites built from feed contracts.

One suite per feed, named ``<agency>.<feed>.landing``, validating the typed landing table of a
file (``landing.<agency>__<feed>__f<id>__typed``). Every expectation carries ``meta`` saying which
contract column it checks and the rule in words a sender understands; the gate's report is built
from that, so the contract, the check and the message cannot drift apart.
"""

from __future__ import annotations

from typing import Any

from totalplace.contracts import Contract


def expectation_specs(contract: Contract) -> list[tuple[str, dict[str, Any], dict[str, Any]]]:
    """(GX expectation class name, arguments, meta) for every rule of the contract.

    Kept free of GX imports so it is cheap to call (DAG parsing, docs, tests).
    """
    specs: list[tuple[str, dict[str, Any], dict[str, Any]]] = []
    for col in contract.stored_columns:
        def meta(rule: str, name: str = col.name) -> dict[str, Any]:
            return {"column": name, "rule": rule}

        if col.type == "text" and not col.nullable:
            specs.append(("ExpectColumnValuesToNotBeNull", {"column": col.name}, meta("must not be empty")))
        if col.type != "text":
            # the typed table puts the text of every cell that does not parse (or is empty when it
            # must not be) into <col>__invalid, so one check reports the sender's own values
            rule = f"must be {col.type_description}" + ("" if col.nullable else " (not empty)")
            specs.append(("ExpectColumnValuesToBeNull", {"column": col.invalid_column}, meta(rule)))
        if col.length is not None:
            specs.append((
                "ExpectColumnValueLengthsToEqual",
                {"column": col.name, "value": col.length},
                meta(f"must be exactly {col.length} characters long"),
            ))
        if col.pattern:
            specs.append((
                "ExpectColumnValuesToMatchRegex",
                {"column": col.name, "regex": col.pattern},
                meta(f"must be {col.pattern_description or 'of the form ' + col.pattern}"),
            ))
        if col.allowed_values is not None:
            shown = ", ".join(col.allowed_values[:6]) + (", ..." if len(col.allowed_values) > 6 else "")
            specs.append((
                "ExpectColumnValuesToBeInSet",
                {"column": col.name, "value_set": list(col.allowed_values)},
                meta(f"must be one of the published values ({shown})"),
            ))
        if col.min is not None or col.max is not None:
            specs.append((
                "ExpectColumnValuesToBeBetween",
                {"column": col.name, "min_value": col.min, "max_value": col.max},
                meta(col.range_description or f"must be between {col.min} and {col.max}"),
            ))
    specs.append((
        "ExpectTableRowCountToBeBetween",
        {"min_value": contract.min_rows},
        {"column": None, "rule": f"the file must hold at least {contract.min_rows} data row(s)"},
    ))
    return specs


def build_suite(contract: Contract):  # -> gx.ExpectationSuite (imported lazily: GX takes seconds to import)
    import great_expectations as gx
    import great_expectations.expectations as gxe

    suite = gx.ExpectationSuite(name=contract.suite_name)
    for class_name, kwargs, meta in expectation_specs(contract):
        suite.add_expectation(getattr(gxe, class_name)(**kwargs, meta=meta))
    return suite
