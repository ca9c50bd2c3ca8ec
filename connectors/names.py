"""File names as partners' SFTP clients send them: bytes, which need not be text.

A name that is not valid UTF-8, or holds a control character (a newline, an escape sequence that
repaints a terminal, a NUL), or an invisible formatting one (a right-to-left override that makes
``exe.csv`` read ``vsc.exe``), cannot be shown, logged or typed back safely. The local SFTP server
refuses such names at upload (:func:`clean_name`); one already on a server's disk is quarantined by
itself under a readable stand-in (:func:`display_name`), and every other file goes on.
"""

from __future__ import annotations

import re
import unicodedata

UNSAFE_CATEGORIES = ("Cc", "Cf", "Cs", "Co", "Zl", "Zp")  # control, format (bidi, zero-width), surrogate,
# private use, line and paragraph separators (str.splitlines breaks on them)
BLANK_LOOKING = {"\u115f", "\u1160", "\u3164", "\uffa0", "\u2800", "\u180e"}  # fillers drawn as nothing


def clean_name(name: bytes) -> str | None:
    """The name as text when a person can read and type it back, else None: valid UTF-8, no character
    of the categories above and no blank-looking filler, no leading or trailing space, not empty,
    '.' or '..', no '/', at most 255 bytes."""
    try:
        text = name.decode("utf-8")
    except UnicodeDecodeError:
        return None
    if text in ("", ".", "..") or "/" in text or len(name) > 255 or text != text.strip():
        return None
    if any(unicodedata.category(ch) in UNSAFE_CATEGORIES or ch in BLANK_LOOKING for ch in text):
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
        if unicodedata.category(ch) in UNSAFE_CATEGORIES or ch in BLANK_LOOKING or ch == "/":
            out.append(f"\\x{ord(ch):02x}" if ord(ch) < 0x100 else f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    return "".join(out) or "(no name)"


NAME_PROBLEM = ("the file's name is not plain text (it is not valid UTF-8, or holds a control or invisible "
                "formatting character), so it cannot be shown or stored safely; nothing of it was loaded - "
                "rename it using letters, digits, spaces and - _ . and send it again")

NHS_SHAPED = re.compile(r"(?<![0-9])[0-9]{3}[ -]?[0-9]{3}[ -]?[0-9]{4}(?![0-9])")
POSTCODE_SHAPED = re.compile(r"(?<![A-Za-z0-9])[A-Za-z]{1,2}[0-9][A-Za-z0-9]? ?[0-9][A-Za-z]{2}(?![A-Za-z0-9])")


def withhold_identifiers(name: str, *, person_level: bool) -> str:
    """The name with what looks like a person identifier replaced: a valid NHS number always, a full
    postcode in a person-level feed (an office's postcode in a spend file's name is not a person's).
    A name is recorded in the ledger, logs, reports and the site: it must not carry one."""
    from totalplace.identifiers import nhs_number_is_valid

    out = NHS_SHAPED.sub(lambda m: "[NHS number withheld]"
                         if nhs_number_is_valid(re.sub(r"[ -]", "", m.group())) else m.group(), name)
    if person_level:
        out = POSTCODE_SHAPED.sub("[postcode withheld]", out)
    return out


IDENTIFIER_IN_NAME = ("the file's name holds what looks like a person identifier (withheld here); nothing of the "
                      "file was loaded - rename it without names, NHS numbers, dates of birth or postcodes and "
                      "send it again")
