"""Settings: a copy with another state folder derives every path from it, not from the original."""

from __future__ import annotations

from totalplace.settings import Settings


def test_a_copy_recomputes_the_paths_the_original_had_already_derived(tmp_path):
    original = Settings(state_dir=tmp_path / "a")
    before = (original.sftp_port_file, original.site_dir, original.files_dir)  # computed (and cached) first
    copy = original.model_copy(update={"state_dir": tmp_path / "b"})
    assert copy.sftp_port_file == tmp_path / "b" / "sftp" / "port"
    assert copy.site_dir == tmp_path / "b" / "site" and copy.files_dir == tmp_path / "b" / "files"
    assert (original.sftp_port_file, original.site_dir, original.files_dir) == before
