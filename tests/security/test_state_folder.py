"""Finding 5 (local user): ``files/``, ``sftp/root/`` and ``demo/`` of the state folder were 0755/0644 and
``airflow.db`` 0644, so any local user read every raw extract. The state folder is private to the
platform: no other local user lists it or reads anything in it (the site it publishes excepted), and
``totalplace status`` says so - or names what is not."""

from __future__ import annotations

import os
import stat

from conftest import POLICE_SAMPLE, run_cli
from hostile import as_other_user, other_user

PUBLISHED = ("site",)  # pages made for readers: the site (with copies of the validation pages)


def _loose(state) -> list[str]:
    """Entries of the state folder that another local user could read, write or list."""
    found = []
    for root, dirs, files in os.walk(state):
        rel = os.path.relpath(root, state)
        if rel.split(os.sep)[0] in PUBLISHED:
            continue
        for name in [*dirs, *files]:
            path = os.path.join(root, name)
            info = os.lstat(path)
            if stat.S_ISSOCK(info.st_mode) or stat.S_ISLNK(info.st_mode):
                continue
            if info.st_mode & 0o077 and os.path.relpath(path, state).split(os.sep)[0] not in PUBLISHED:
                found.append(f"{oct(info.st_mode & 0o777)} {os.path.relpath(path, state)}")
    return found


def test_no_other_local_user_reads_the_state_folder(sftp, tmp_path):
    dropped = run_cli(sftp, "drop", "--as", "city_of_london_police", "--feed", "street_crime", str(POLICE_SAMPLE))
    assert dropped.returncode == 0, dropped.stderr
    from totalplace import ingest
    from totalplace.contracts import get_contract

    contract = get_contract(sftp.feeds_dir, "police", "street_crime")
    [file_id] = ingest.fetch(sftp, contract)  # the kept copy lands under files/
    state = sftp.state_dir
    mode = stat.S_IMODE(state.stat().st_mode)
    assert mode & 0o066 == 0, f"the state folder is {oct(mode)}"
    assert _loose(state) == []
    kept = next((state / "files").rglob(POLICE_SAMPLE.name))
    other_user()
    for command in (["cat", str(kept)], ["ls", str(state)], ["ls", str(state / "files")],
                    ["ls", str(sftp.sftp_root)], ["cat", str(sftp.credentials_file)]):
        seen = as_other_user(*command)
        assert seen.returncode != 0 and b"Permission denied" in seen.stderr, (command, seen.stdout[:200])


def test_status_checks_the_state_folders_permissions(sftp):
    ok = run_cli(sftp, "status")
    assert "state folder" in ok.stdout and "private" in ok.stdout, ok.stdout
    # a 0644 file in a 0700 folder is out of anyone else's reach; opened up, both are named (the state
    # folder itself 0711, as when the platform runs as root beside the embedded PostgreSQL's own user)
    sftp.state_dir.chmod(0o711)
    sftp.credentials_file.chmod(0o644)
    assert "is private" in run_cli(sftp, "status").stdout
    sftp.sftp_dir.chmod(0o755)
    try:
        bad = run_cli(sftp, "status")
        assert bad.returncode != 0
        assert "0o755 sftp\n" in bad.stdout and "0o644 sftp/credentials.json" in bad.stdout, bad.stdout
        # `totalplace up` repairs it (its own files and folders, nothing of the caller's)
        from totalplace.state import tighten

        assert tighten(sftp) == 2 and "is private" in run_cli(sftp, "status").stdout
    finally:
        sftp.sftp_dir.chmod(0o700)
        sftp.credentials_file.chmod(0o600)
