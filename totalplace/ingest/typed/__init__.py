"""The typing compiler: SQL that turns a landed file's text cells into the contract's types.

Small builders, each returning a ``psycopg.sql`` fragment for one column or one concern, so each can
be unit-tested on the SQL it generates (``tests/totalplace/ingest/test_typed_sql.py``) without a
database: ``cells`` (trimming, counting, totals labels), ``guards`` (can this text be cast?),
``values`` (the cast itself: money, dates, months, numbers), ``table`` (the one CREATE TABLE AS that
puts them together) and ``non_data`` (totals rows and notes below the data, set aside and reconciled).
"""

from totalplace.ingest.typed.table import TypedTable, create_typed_table
from totalplace.ingest.typed.values import rounded_money

__all__ = ["TypedTable", "create_typed_table", "rounded_money"]
