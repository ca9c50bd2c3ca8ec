"""Shared pieces of the attack suite (`make attack`): a second local user to read the state folder
as, and a raw SFTP session for what no polite client sends (the warehouse with rows of three
agencies is the ``three_agencies`` fixture of tests/conftest.py).

Every test here performs an attack a probe of the running demo made (README "Security") and
asserts that it fails. Nothing is mocked: the real SFTP server, PostgreSQL roles, the `totalplace`
command and headless Chromium."""

from __future__ import annotations

import asyncio
import contextlib
import os
import pwd
import subprocess
from pathlib import Path

import pytest


def other_user() -> str:
    """A local user who is not the platform's: the attacker on the same machine."""
    if os.geteuid() != 0:
        pytest.skip("reading as another local user needs root to switch user")
    return pwd.getpwnam("nobody").pw_name


def as_other_user(*command: str) -> subprocess.CompletedProcess:
    return subprocess.run(list(command), user=other_user(), capture_output=True, timeout=60, cwd="/")


@contextlib.contextmanager
def sftp_server_with(settings, **limits):
    """The platform's SFTP server run with some limits changed (smaller quotas, to reach them fast)."""
    from totalplace import sftp_server

    changed = settings.model_copy(update=limits)
    sftp_server.ensure_accounts(changed)
    sftp_server.start_background(changed)
    try:
        yield changed
    finally:
        sftp_server.stop_background(changed)


def run_async(coro):
    return asyncio.run(coro)


async def raw_sftp(settings, account: str, password: str | None = None):
    """An asyncssh SFTP session as a partner: the client a hostile partner would script."""
    import asyncssh

    from connectors.sftp import credentials

    conn = await asyncssh.connect(
        settings.sftp_host, port=settings.resolved_sftp_port(), username=account,
        password=password if password is not None else credentials(settings)[account],
        known_hosts=None, client_keys=None, agent_path=None)
    return conn, await conn.start_sftp_client()


def drop_and_run(settings, drops: list[tuple[str, str, Path]]):
    """Upload each (account, feed, file) as that partner body would, then run every DAG (`totalplace run`)."""
    from connectors.sftp import open_account
    from totalplace import pipeline

    for agency, feed, path in drops:
        with open_account(settings, agency) as account:
            account.upload(path, feed)
    run = pipeline.run_all(settings)
    assert run.ok, [(r.dag_id, r.state, r.failed_tasks) for r in run.dag_results]
    return run
