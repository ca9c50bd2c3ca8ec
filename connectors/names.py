"""File names as partners' SFTP clients send them: bytes, which need not be text.

A name that is not valid UTF-8, or holds a control character (a newline, an escape sequence that
repaints a terminal, a NUL), or an invisible formatting one (a right-to-left override that makes
``exe.csv`` read ``vsc.exe``), cannot be shown, logged or typed back safely. The local SFTP server
refuses such names at upload (:func:`clean_name`); one already on a server's disk is quarantined by
itself under a readable stand-in (:func:`display_name`), and every other file goes on.
"""

from __future__ import annotations

import unicodedata

UNSAFE_CATEGORIES = ("Cc", "Cf", "Cs", "Co")  # control, format (bidi, zero-width), surrogate, private use


def clean_name(name: bytes) -> str | None:
    """The name as text when a person can read and type it back, else None: valid UTF-8, no character
    of the categories above, not empty, '.' or '..', no '/', at most 255 bytes."""
    try:
        text = name.decode("utf-8")
    except UnicodeDecodeError:
        return None
    if text in ("", ".", "..") or "/" in text or len(name) > 255:
        return None
    if any(unicodedata.category(ch) in UNSAFE_CATEGORIES for ch in text):
        return None
    return text


def display_name(name: bytes) -> str:
    """A printable stand-in for any name: itself when clean, else with every undecodable byte and
    unsafe character written as a ``\\xNN`` / ``\\uNNNN`` escape (``\\xff\\xfe.csv``, ``bad\\x0aname.csv``)."""
    text = clean_name(name)
    if text is not None:
        return text
    decoded = name.decode("utf-8", errors="backslashreplace")
    out = []
    for ch in decoded:
        if unicodedata.category(ch) in UNSAFE_CATEGORIES or ch == "/":
            out.append(f"\\x{ord(ch):02x}" if ord(ch) < 0x100 else f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    return "".join(out) or "(no name)"


NAME_PROBLEM = ("the file's name is not plain text (it is not valid UTF-8, or holds a control or invisible "
                "formatting character), so it cannot be shown or stored safely; nothing of it was loaded - "
                "rename it using letters, digits, spaces and - _ . and send it again")
