"""Each agency's SFTP account sees only its own folder: no listing, reading or writing elsewhere,
no escape with '..', absolute paths or symlinks."""

from __future__ import annotations

import os

import paramiko
import pytest

from connectors.sftp import open_account
from totalplace.partners import registry


def test_accounts_have_inbox_with_feed_folders_and_outbox(sftp):
    with open_account(sftp, "city_of_london_police") as police:
        assert police.listdir("/") == ["inbox", "outbox"]
        assert "street_crime" in police.listdir("inbox")
    creds = sftp.credentials_file
    assert creds.stat().st_mode & 0o777 == 0o600


def test_wrong_password_is_refused(sftp):
    with pytest.raises(paramiko.AuthenticationException):
        with open_account(sftp, "city_of_london_police", password="not-the-password"):
            pass


def test_no_body_can_reach_another(sftp):
    """Every ordered pair of the registry's accounts: no path out of one's home reads, lists or writes
    another's (a body added to partners.yml is in this test at once)."""
    accounts = registry(sftp).accounts
    assert len(accounts) >= 2
    for other in accounts:
        (sftp.sftp_root / other / "inbox" / "secret.csv").write_text("nhs_number\n9434765919\n")
    for agency in accounts:
        with open_account(sftp, agency) as police:
            for other in (a for a in accounts if a != agency):
                absolute = str(sftp.sftp_root / other / "inbox" / "secret.csv")
                for path in (f"../{other}/inbox/secret.csv", f"/../{other}/inbox/secret.csv",
                             f"../../{other}/inbox/secret.csv", absolute, "../../../../etc/passwd"):
                    with pytest.raises(OSError):
                        police.sftp.open(path, "rb").read()
                for folder in (f"../{other}", f"/../{other}/inbox", "..", "/.."):
                    # '..' at the root is the root itself: it must show the account's own folder, nothing else
                    try:
                        names = police.listdir(folder)
                    except OSError:
                        continue
                    assert names == ["inbox", "outbox"], f"{agency} listing {folder!r} showed {names}"
                for path in (f"../{other}/inbox/planted.csv", f"{absolute}.planted"):
                    with pytest.raises(OSError):
                        police.sftp.open(path, "wb").write(b"x")
            assert police.sftp.normalize("..") == "/"
    for other in accounts:
        assert not (sftp.sftp_root / other / "inbox" / "planted.csv").exists()
        assert not (sftp.sftp_root / other / "inbox" / "secret.csv.planted").exists()


def test_symlinks_cannot_be_made_or_followed(sftp):
    with open_account(sftp, "city_of_london_police") as police:
        with pytest.raises(OSError):
            police.sftp.symlink("/etc/passwd", "inbox/passwd")
        with pytest.raises(OSError):
            police.sftp.symlink("../nhs/inbox", "inbox/nhs")
    # a symlink planted on the server's disk (e.g. by someone with a shell) is not followed either
    os.symlink("/etc/passwd", sftp.sftp_root / "city_of_london_police" / "inbox" / "passwd")
    os.symlink(sftp.sftp_root / "anytown_icb", sftp.sftp_root / "city_of_london_police" / "inbox" / "nhs")
    with open_account(sftp, "city_of_london_police") as police:
        with pytest.raises(OSError):
            police.sftp.open("inbox/passwd", "rb").read()
        with pytest.raises(OSError):
            police.listdir("inbox/nhs")


# ---------------------------------------------------------------- hardening
def _client(settings, username: str, **auth) -> paramiko.SFTPClient:
    import paramiko as pm

    client = pm.SSHClient()
    client.set_missing_host_key_policy(pm.AutoAddPolicy())  # test only: the server was started here
    client.connect(settings.sftp_host, port=settings.resolved_sftp_port(), username=username,
                   look_for_keys=False, allow_agent=False, timeout=15, **auth)
    return client


def test_public_key_login_works_without_a_password(sftp, tmp_path):
    import asyncssh

    key = asyncssh.generate_private_key("ssh-ed25519")
    (sftp.sftp_dir / "authorized_keys").mkdir(exist_ok=True)
    key.write_public_key(str(sftp.sftp_dir / "authorized_keys" / "anytown_homes.pub"))
    key.write_private_key(str(tmp_path / "housing_key"))
    client = _client(sftp, "anytown_homes", pkey=paramiko.Ed25519Key.from_private_key_file(str(tmp_path / "housing_key")))
    try:
        assert sorted(client.open_sftp().listdir("/")) == ["inbox", "outbox"]
    finally:
        client.close()
    # another account's key is not accepted for housing's folder
    other = asyncssh.generate_private_key("ssh-ed25519")
    other.write_private_key(str(tmp_path / "other_key"))
    with pytest.raises(paramiko.AuthenticationException):
        _client(sftp, "anytown_homes", pkey=paramiko.Ed25519Key.from_private_key_file(str(tmp_path / "other_key")))


def test_only_allowed_extensions_can_be_uploaded(sftp, tmp_path):
    with open_account(sftp, "city_of_london_police") as police:
        for name in ("inbox/street_crime/payload.exe", "inbox/street_crime/run.sh.part", "inbox/street_crime/x.php"):
            with pytest.raises(OSError):
                police.sftp.open(name, "wb").write(b"x")
        police.write_bytes("inbox/street_crime/ok.csv", b"a,b\n1,2\n")  # via .part and rename: allowed
        police.sftp.open("inbox/street_crime/ok.csv.done", "wb").close()
        with pytest.raises(OSError):  # nor can an allowed upload be renamed to something else
            police.sftp.posix_rename("inbox/street_crime/ok.csv", "inbox/street_crime/ok.exe")
        assert sorted(police.listdir("inbox/street_crime")) == ["ok.csv", "ok.csv.done"]


def test_a_file_over_the_size_limit_is_refused_and_left_empty(settings, tmp_path):
    from totalplace import sftp_server

    small = settings.model_copy(update={"sftp_max_file_bytes": 10_000})
    sftp_server.ensure_accounts(small)
    sftp_server.start_background(small)
    try:
        big, fine = tmp_path / "big.csv", tmp_path / "fine.csv"
        big.write_bytes(b"a,b\n" + b"1,2\n" * 5_000)
        fine.write_bytes(b"a\n1\n")
        with open_account(small, "anytown") as council:
            with pytest.raises(OSError):
                council.upload(big, "spend_over_500")
            council.upload(fine, "spend_over_500")
            names = council.listdir("inbox/spend_over_500")
            sizes = {n: council.sftp.stat(f"inbox/spend_over_500/{n}").st_size for n in names}
        assert "big.csv" not in names and "big.csv.done" not in names
        assert sizes.get("big.csv.part", 0) == 0  # the refused upload holds nothing
        assert sizes["fine.csv"] == 4
    finally:
        sftp_server.stop_background(small)


def test_repeated_failed_logins_lock_the_account_out(sftp):
    from totalplace.sftp_server import FAILED_LOGINS_ALLOWED

    for _ in range(FAILED_LOGINS_ALLOWED):
        with pytest.raises(paramiko.AuthenticationException):
            with open_account(sftp, "anytown", password="guess"):
                pass
    # now even the right password is refused from this address, for the lockout period
    with pytest.raises(paramiko.AuthenticationException):
        with open_account(sftp, "anytown"):
            pass
    with open_account(sftp, "anytown_icb"):  # other accounts are not affected
        pass
