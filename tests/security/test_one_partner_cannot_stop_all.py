"""Finding 4: one partner could stop every partner.

A file named with the bytes ``\\xff\\xfe`` in ``police/inbox/outcomes`` made the whole ``totalplace
run`` fail for every agency (``UnicodeDecodeError`` listing the inbox); a NUL in a name gave
"Uncaught exception"; forty wrong passwords for ``nhs`` from 127.0.0.1 locked the platform's own
connector out of ``nhs`` for five minutes. Names that are not valid UTF-8 or hold control characters
are refused at upload; one already on the server's disk is quarantined by itself; the connector logs
in with the platform's own key, which no lockout applies to; and a partner cannot hold every session."""

from __future__ import annotations

import asyncio
import os
import time

import asyncssh
import paramiko
import pytest
from conftest import POLICE_SAMPLE
from hostile import drop_and_run, raw_sftp, run_async, sftp_server_with

from connectors.sftp import open_account
from devtools.generate_data import write_pooled_budgets_csv
from totalplace.warehouse import connect

HOSTILE_NAMES = [b"\xff\xfe.csv", b"bad\nname.csv", b"bell\x07.csv", b"esc\x1b[31m.csv", b"nul\x00.csv",
                 b"del\x7f.csv", b"c1\xc2\x85.csv"]


@pytest.mark.parametrize("name", HOSTILE_NAMES, ids=repr)
def test_names_that_are_not_clean_text_are_refused_at_upload(sftp, name):
    async def attack():
        conn, client = await raw_sftp(sftp, "city_of_london_police")
        async with conn:
            with pytest.raises(asyncssh.SFTPError) as refused:
                async with client.open(b"inbox/outcomes/" + name, "wb") as fh:
                    await fh.write(b"a\n1\n")
            async with client.open(b"inbox/outcomes/fine.csv.part", "wb") as fh:
                await fh.write(b"a\n1\n")
            with pytest.raises(asyncssh.SFTPError):
                await client.posix_rename(b"inbox/outcomes/fine.csv.part", b"inbox/outcomes/" + name)
            # the server answered with a reason and goes on serving this session
            return refused.value.reason, sorted(await client.listdir(b"inbox/outcomes"))

    reason, names = run_async(attack())
    assert "name" in reason.lower() and "uncaught" not in reason.lower(), reason
    assert [n for n in names if n not in (b".", b"..")] == [b"fine.csv.part"]


@pytest.mark.slow
def test_a_planted_bad_name_is_quarantined_by_itself_and_every_other_file_goes_on(sftp, airflow_home, tmp_path):
    inbox = sftp.sftp_root / "city_of_london_police" / "inbox" / "outcomes"
    planted = [os.path.join(os.fsencode(inbox), n) for n in (b"\xff\xfe.csv", b"bad\nname.csv", b"esc\x1b[2J.csv")]
    for i, path in enumerate(planted):  # put there by someone with a shell on the server, or another server
        with open(path, "wb") as fh:
            fh.write(b"Crime ID,Month\n%d,2020-01\n" % i)
    pools = write_pooled_budgets_csv(tmp_path / "pools.csv", [("E09000001", "City of London")])
    drop_and_run(sftp, [("anytown", "pooled_budgets", pools), ("city_of_london_police", "street_crime", POLICE_SAMPLE)])
    with connect(sftp.warehouse_url) as conn:
        files = conn.execute("select agency, feed, name, status, error from ops.file_ledger "
                             "where agency <> 'reference' order by file_id").fetchall()
    by_feed = {(a, f): [] for a, f, *_ in files}
    for agency, feed, name, status, error in files:
        by_feed[(agency, feed)].append((name, status, error))
    assert [s for _, s, _ in by_feed[("council", "pooled_budgets")]] == ["published"]
    assert [s for _, s, _ in by_feed[("police", "street_crime")]] == ["published"]
    bad = by_feed[("police", "outcomes")]
    assert sorted(s for _, s, _ in bad) == ["quarantined"] * 3
    for name, _, error in bad:
        assert name.isprintable() and "\\" in name, name  # the ledger names it readably (escaped)
        assert "name" in error
    assert not [p for p in planted if os.path.lexists(p)], "a planted file was left in the inbox"
    reports = os.listdir(os.fsencode(sftp.sftp_root / "city_of_london_police" / "outbox" / "outcomes"))
    assert len([r for r in reports if r.endswith(b".quarantined.txt")]) == 3
    assert all(r.decode("utf-8").isprintable() for r in reports)


def test_failed_logins_lock_a_partner_out_but_never_the_platforms_connector(sftp):
    from connectors.sftp import open_service
    from totalplace.sftp_server import FAILED_LOGINS_ALLOWED

    for _ in range(FAILED_LOGINS_ALLOWED + 2):
        with pytest.raises(paramiko.AuthenticationException):
            with open_account(sftp, "anytown_icb", password="guess"):
                pass
    with pytest.raises(paramiko.AuthenticationException):  # the partner is locked out, as it should be
        with open_account(sftp, "anytown_icb"):
            pass
    with open_service(sftp, "anytown_icb") as connector:  # the platform's own login from the same address is not
        assert "outbox" in connector.listdir(".")


def test_a_partner_cannot_hold_every_session(sftp):
    limit = sftp.sftp_max_sessions_per_account

    async def attack():
        from connectors.sftp import credentials

        password = credentials(sftp)["anytown_homes"]
        held, refused = [], 0
        for _ in range(limit + 3):
            try:
                held.append(await asyncssh.connect(sftp.sftp_host, port=sftp.resolved_sftp_port(), username="anytown_homes",
                                                   password=password, known_hosts=None, client_keys=None,
                                                   agent_path=None))
            except (asyncssh.Error, OSError):
                refused += 1
        for conn in held:
            conn.close()
        await asyncio.gather(*(c.wait_closed() for c in held))
        return len(held), refused

    held, refused = run_async(attack())
    assert held == limit and refused == 3
    from connectors.sftp import open_service

    with open_service(sftp, "anytown_homes") as connector:  # the platform still gets in
        assert "inbox" in connector.listdir(".")


def test_no_copy_data_and_no_sparse_giants(sftp):
    """The copy-data extension copied gigabytes in one request while every other session waited; one
    write at 5 GiB made a sparse file of gigabytes the loader would have read as zeros."""
    async def attack():
        conn, client = await raw_sftp(sftp, "city_of_london_police")
        async with conn:
            assert not client.supports_remote_copy
            async with client.open("inbox/street_crime/giant.csv.part", "wb") as fh:
                await fh.write(b"Crime ID,Month\n")
                with pytest.raises(asyncssh.SFTPError):
                    await fh.write(b"x", 5 * 2**30 - 2)
                await fh.write(b"1,2020-01\n", 15)  # a write that follows on is fine
    run_async(attack())
    part = sftp.sftp_root / "city_of_london_police" / "inbox" / "street_crime" / "giant.csv.part"
    assert part.stat().st_size == 25


def test_an_inbox_has_a_quota_of_files(settings):
    with sftp_server_with(settings, sftp_max_account_files=3) as small:
        async def attack():
            conn, client = await raw_sftp(small, "anytown_homes")
            async with conn:
                for i in range(3):
                    async with client.open(f"inbox/homelessness/f{i}.csv", "wb") as fh:
                        await fh.write(b"a\n1\n")
                with pytest.raises(asyncssh.SFTPError) as refused:
                    async with client.open("inbox/homelessness/f3.csv", "wb") as fh:
                        await fh.write(b"a\n1\n")
                return refused.value.reason
        assert "at most 3 files" in run_async(attack())


def test_idle_connections_do_not_lock_everyone_out(sftp):
    """Thousands of TCP connections that never log in held every slot of the server; an address may
    hold only a few that have not logged in, and each must log in within the login timeout."""
    import socket

    from connectors.sftp import open_account
    from totalplace.sftp_server import PENDING_PER_ADDRESS

    held = []
    try:
        for _ in range(PENDING_PER_ADDRESS + 10):
            sock = socket.create_connection((sftp.sftp_host, sftp.resolved_sftp_port()), timeout=5)
            held.append(sock)
        time.sleep(1)
        closed = 0
        for sock in held:  # the server hangs up on those over the limit: reading reaches the end at once
            sock.settimeout(2)
            try:
                while chunk := sock.recv(4096):
                    if chunk.endswith(b"\n"):  # the server's banner: this one is being served
                        break
                else:
                    closed += 1
            except TimeoutError:
                pass
            except OSError:
                closed += 1
        assert closed >= 10, f"{closed} of {len(held)} idle connections were refused"
    finally:
        for sock in held:
            sock.close()
    with open_account(sftp, "city_of_london_police") as police:  # and a partner still gets in
        assert "inbox" in police.listdir(".")


def test_appending_cannot_grow_a_file_past_its_limit_and_handles_are_capped(settings):
    """A file opened to append is written at its end whatever offset the client names: offset 0
    again and again grew a file past the size limit. And one session opening files without end
    would hold the server's descriptors."""
    from totalplace import sftp_server

    with sftp_server_with(settings, sftp_max_file_bytes=1000) as small:
        async def attack():
            conn, client = await raw_sftp(small, "anytown_homes")
            async with conn:
                async with client.open("inbox/homelessness/grow.csv", "ab") as fh:
                    with pytest.raises(asyncssh.SFTPError) as grown:
                        for _ in range(20):
                            await fh.write(b"x" * 100, 0)
                handles, refused = [], None
                try:
                    for i in range(sftp_server.MAX_OPEN_FILES + 1):
                        handles.append(await client.open(f"inbox/homelessness/h{i}.csv", "wb"))
                except asyncssh.SFTPError as exc:
                    refused = exc.reason
                for fh in handles:
                    await fh.close()
                return grown.value.reason, len(handles), refused
        grown, opened, refused = run_async(attack())
        assert "at most 1,000 bytes" in grown
        assert opened == sftp_server.MAX_OPEN_FILES and "files may be open at once" in (refused or "")
        assert (small.sftp_root / "anytown_homes" / "inbox" / "homelessness" / "grow.csv").stat().st_size <= 1000
