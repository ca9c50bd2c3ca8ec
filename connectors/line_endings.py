"""Line endings as senders' programs write them, made one kind before COPY reads the file.

PostgreSQL's COPY takes a file whose lines all end alike; a file saved by old Mac Excel ends its
lines with a bare carriage return, and a file pasted together from two programs mixes CR LF and LF.
COPY then stops with "unquoted newline found in data" at a line no sender can find. A file with any
bare CR is copied (streamed, in the working folder) with every CR LF and bare CR turned into LF; a
CR inside a quoted cell becomes a LF too, which is still the same line break of that cell.
"""

from __future__ import annotations

import os
from pathlib import Path

CHUNK = 8 << 20


def has_bare_cr(path: Path) -> bool:
    """True when some carriage return is not followed by a line feed."""
    with path.open("rb") as fh:
        carry = b""
        while chunk := fh.read(CHUNK):
            data = carry + chunk
            # a CR at the end of this chunk is judged with the next one
            carry = b"\r" if data.endswith(b"\r") else b""
            body = data[:-1] if carry else data
            if body.count(b"\r") != body.count(b"\r\n"):
                return True
        return carry == b"\r"


def normalise_line_endings(path: Path, target: Path) -> Path:
    """Write ``path`` to ``target`` with LF line endings only (renamed into place when whole)."""
    partial = target.with_name(f".{target.name}.{os.getpid()}.partial")
    with path.open("rb") as src, partial.open("wb") as dst:
        carry = b""
        while chunk := src.read(CHUNK):
            data = carry + chunk
            carry = b"\r" if data.endswith(b"\r") else b""
            body = data[:-1] if carry else data
            dst.write(body.replace(b"\r\n", b"\n").replace(b"\r", b"\n"))
        if carry:
            dst.write(b"\n")
    partial.replace(target)
    return target
