"""Finding 3: what a hostile partner could do over SFTP.

The probe uploaded a copy of ``/usr/bin/id`` as ``id.csv``, made it set-uid with ``chmod 4755``, and
ran it as ``nobody``: ``euid=0(root)`` (the local server ran as root and honoured the mode). It grew
a ``.part`` file past the size limit with ``setstat``, wrote ``inbox/street_crime/outbox/../evil.json``
(the allow-list was tested before the path was normalised), and renamed files into the home folder
and the outbox. Every attempt below must be refused, and the server must go on serving."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess

import asyncssh
import pytest
from hostile import other_user, raw_sftp, run_async

ID = shutil.which("id")


def test_an_uploaded_program_cannot_be_made_set_uid(sftp):
    async def attack():
        conn, client = await raw_sftp(sftp, "city_of_london_police")
        async with conn:
            await client.put(ID, "inbox/street_crime/id.csv.part")
            refused = []
            for mode in (0o4755, 0o6755, 0o755, 0o777):
                try:
                    await client.chmod("inbox/street_crime/id.csv.part", mode)
                except asyncssh.SFTPError as exc:
                    refused.append(exc.code)
            # set at creation instead: the mode a client asks for in OPEN is not honoured either
            async with client.open("inbox/street_crime/id2.csv.part", "wb",
                                   asyncssh.SFTPAttrs(permissions=0o4755)) as fh:
                await fh.write(open(ID, "rb").read())  # noqa: SIM115 - a small binary, read once
            try:
                await client.chown("inbox/street_crime/id.csv.part", 0, 0)
                chowned = True
            except asyncssh.SFTPError:
                chowned = False
            return refused, chowned

    refused, chowned = run_async(attack())
    assert len(refused) == 4 and not chowned
    for name in ("id.csv.part", "id2.csv.part"):
        path = sftp.sftp_root / "city_of_london_police" / "inbox" / "street_crime" / name
        info = path.stat()
        assert stat.S_IMODE(info.st_mode) == 0o600, oct(info.st_mode)
        if os.geteuid() == 0:
            assert info.st_uid != 0, "the uploaded file belongs to root"
            # run as another local user, it is not even executable, let alone as root
            try:
                ran = subprocess.run([str(path)], user=other_user(), capture_output=True, timeout=10)
            except PermissionError:
                continue
            assert b"euid=0" not in ran.stdout and ran.returncode != 0


def test_the_local_server_does_not_run_as_root(sftp):
    pid = int(sftp.sftp_pid_file.read_text())
    status = dict(line.split(":", 1) for line in open(f"/proc/{pid}/status").read().splitlines() if ":" in line)
    uids = [int(u) for u in status["Uid"].split()]
    if os.geteuid() == 0:
        assert set(uids) != {0} and 0 not in uids, f"the SFTP server runs with uids {uids}"
    else:
        assert uids[0] == os.geteuid()


def test_size_owner_and_times_cannot_be_forged_past_the_limits(sftp):
    async def attack():
        conn, client = await raw_sftp(sftp, "city_of_london_police")
        async with conn:
            async with client.open("inbox/street_crime/big.csv.part", "wb") as fh:
                await fh.write(b"a,b\n")
            codes = []
            for attempt in (lambda: client.truncate("inbox/street_crime/big.csv.part", 6 * 2**30),
                            lambda: client.setstat("inbox/street_crime/big.csv.part",
                                                   asyncssh.SFTPAttrs(size=6 * 2**30)),
                            lambda: client.setstat("inbox/street_crime/big.csv.part", asyncssh.SFTPAttrs(uid=0, gid=0))):
                try:
                    await attempt()
                    codes.append(None)
                except asyncssh.SFTPError as exc:
                    codes.append(exc.code)
            async with client.open("inbox/street_crime/big.csv.part", "r+b") as fh:
                try:
                    await fh.truncate(6 * 2**30)  # fsetstat on an open handle
                    codes.append(None)
                except asyncssh.SFTPError as exc:
                    codes.append(exc.code)
            # a client that sets only the times (WinSCP keeps the original's) is not refused
            await client.utime("inbox/street_crime/big.csv.part", (1_600_000_000, 1_600_000_000))
            return codes

    codes = run_async(attack())
    assert None not in codes, codes
    assert (sftp.sftp_root / "city_of_london_police" / "inbox" / "street_crime" / "big.csv.part").stat().st_size == 4


@pytest.mark.parametrize("path", [
    "inbox/street_crime/outbox/../evil.json",
    "inbox/street_crime/../../outbox/evil.json",
    "inbox/street_crime/../evil.csv",
    "outbox/street_crime/evil.txt",
    "outbox/evil.json",
    "evil.csv",
    "inbox/evil.csv",
    "inbox/street_crime/sub/evil.csv",
    "inbox/no_such_feed/evil.csv",
    "inbox/street_crime/./../street_crime/../../evil.csv",
])
def test_writes_land_only_in_an_inbox_feed_folder_whatever_the_path_says(sftp, path):
    async def attack():
        conn, client = await raw_sftp(sftp, "city_of_london_police")
        async with conn:
            with pytest.raises(asyncssh.SFTPError):
                async with client.open(path, "wb") as fh:
                    await fh.write(b"a,b\n1,2\n")
            with pytest.raises(asyncssh.SFTPError):
                await client.mkdir(path.rsplit("/", 1)[0] + "/newdir")
            return await client.listdir("inbox/street_crime")

    assert [n for n in run_async(attack()) if n not in (".", "..")] == []
    written = [p for p in (sftp.sftp_root / "city_of_london_police").rglob("*") if p.is_file()]
    assert written == [], written


def test_renames_stay_within_one_inbox_feed_folder(sftp):
    async def attack():
        conn, client = await raw_sftp(sftp, "city_of_london_police")
        async with conn:
            async with client.open("inbox/street_crime/ok.csv.part", "wb") as fh:
                await fh.write(b"a,b\n1,2\n")
            refused = 0
            for target in ("ok.csv", "outbox/ok.csv", "outbox/street_crime/ok.csv.published.txt",
                           "inbox/stop_and_search/ok.csv", "inbox/ok.csv", "inbox/street_crime/ok.exe",
                           "inbox/street_crime/../../ok.csv"):
                for rename in (client.rename, client.posix_rename):
                    try:
                        await rename("inbox/street_crime/ok.csv.part", target)
                    except asyncssh.SFTPError:
                        refused += 1
            await client.posix_rename("inbox/street_crime/ok.csv.part", "inbox/street_crime/ok.csv")  # the protocol
            return refused

    assert run_async(attack()) == 14
    home = sftp.sftp_root / "city_of_london_police"
    assert sorted(str(p.relative_to(home)) for p in home.rglob("*") if p.is_file()) == ["inbox/street_crime/ok.csv"]


def test_the_outbox_is_the_platforms_a_partner_reads_but_does_not_write_it(sftp):
    from connectors.sftp import open_service

    with open_service(sftp, "city_of_london_police") as service:  # the platform's connector writes reports
        service.write_bytes("outbox/street_crime/x.csv.published.txt", b"ACCEPTED\n")

    async def attack():
        conn, client = await raw_sftp(sftp, "city_of_london_police")
        async with conn:
            async with client.open("outbox/street_crime/x.csv.published.txt", "rb") as fh:
                report = await fh.read()
            refused = 0
            for mode in ("wb", "ab", "r+b"):
                try:
                    async with client.open("outbox/street_crime/x.csv.published.txt", mode) as fh:
                        await fh.write(b"FORGED\n")
                except asyncssh.SFTPError:
                    refused += 1
            return report, refused

    report, refused = run_async(attack())
    assert report == b"ACCEPTED\n" and refused == 3
    assert (sftp.sftp_root / "city_of_london_police" / "outbox" / "street_crime" / "x.csv.published.txt").read_bytes() == b"ACCEPTED\n"
