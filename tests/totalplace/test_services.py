"""`totalplace up/status/down` with the embedded PostgreSQL and the local SFTP server."""

from __future__ import annotations

import psycopg

from totalplace import services
from totalplace.settings import Settings
from totalplace.warehouse import DBT_SCHEMAS, PLATFORM_SCHEMAS


def test_up_starts_embedded_warehouse_and_sftp_then_down_stops_them(tmp_path, monkeypatch):
    monkeypatch.delenv("TOTALPLACE_WAREHOUSE_URL", raising=False)
    s = Settings(state_dir=tmp_path / "state", warehouse_url="")
    try:
        url = services.up(s)
        assert str(s.pgdata_dir) in url
        with psycopg.connect(url) as conn:
            schemas = {r[0] for r in conn.execute("select schema_name from information_schema.schemata")}
            assert set(PLATFORM_SCHEMAS) | set(DBT_SCHEMAS) <= schemas
            assert conn.execute("select to_regclass('ops.file_ledger') is not null").fetchone()[0]
        st = services.status(s)
        assert st.warehouse_up and st.sftp_up and st.manifest_present
        assert services.up(s) == url  # idempotent: re-attaches, starts nothing twice
    finally:
        stopped = services.down(s)
    assert stopped == ["sftp", "warehouse"]
    st = services.status(s)
    assert not st.warehouse_up and not st.sftp_up
