"""Each agency's SFTP account sees only its own folder: no listing, reading or writing elsewhere,
no escape with '..', absolute paths or symlinks."""

from __future__ import annotations

import os

import paramiko
import pytest

from connectors.sftp import open_account
from totalplace.settings import AGENCIES


def test_accounts_have_inbox_with_feed_folders_and_outbox(sftp):
    with open_account(sftp, "police") as police:
        assert police.listdir("/") == ["inbox", "outbox"]
        assert "street_crime" in police.listdir("inbox")
    creds = sftp.credentials_file
    assert creds.stat().st_mode & 0o777 == 0o600


def test_wrong_password_is_refused(sftp):
    with pytest.raises(paramiko.AuthenticationException):
        with open_account(sftp, "police", password="not-the-password"):
            pass


@pytest.mark.parametrize("other", [a for a in AGENCIES if a != "police"])
def test_police_cannot_reach_another_agency(sftp, other):
    secret = sftp.sftp_root / other / "inbox" / "secret.csv"
    secret.write_text("nhs_number\n9434765919\n")
    absolute = str(secret)
    with open_account(sftp, "police") as police:
        for path in (f"../{other}/inbox/secret.csv", f"/../{other}/inbox/secret.csv",
                     f"../../{other}/inbox/secret.csv", absolute, "../../../../etc/passwd"):
            with pytest.raises(OSError):
                police.sftp.open(path, "rb").read()
        for folder in (f"../{other}", f"/../{other}/inbox", "..", "/.."):
            # '..' at the root is the root itself: it must show police's own folder, nothing else
            try:
                names = police.listdir(folder)
            except OSError:
                continue
            assert names == ["inbox", "outbox"], f"listing {folder!r} showed {names}"
        for path in (f"../{other}/inbox/planted.csv", f"{absolute}.planted"):
            with pytest.raises(OSError):
                police.sftp.open(path, "wb").write(b"x")
        assert police.sftp.normalize("..") == "/"
    assert not (sftp.sftp_root / other / "inbox" / "planted.csv").exists()
    assert not secret.with_name("secret.csv.planted").exists()


def test_symlinks_cannot_be_made_or_followed(sftp):
    with open_account(sftp, "police") as police:
        with pytest.raises(OSError):
            police.sftp.symlink("/etc/passwd", "inbox/passwd")
        with pytest.raises(OSError):
            police.sftp.symlink("../nhs/inbox", "inbox/nhs")
    # a symlink planted on the server's disk (e.g. by someone with a shell) is not followed either
    os.symlink("/etc/passwd", sftp.sftp_root / "police" / "inbox" / "passwd")
    os.symlink(sftp.sftp_root / "nhs", sftp.sftp_root / "police" / "inbox" / "nhs")
    with open_account(sftp, "police") as police:
        with pytest.raises(OSError):
            police.sftp.open("inbox/passwd", "rb").read()
        with pytest.raises(OSError):
            police.listdir("inbox/nhs")
