"""Named points where a crash would do most harm, for the fault suite to break a load on purpose.

``copy`` (mid-COPY) and ``publish`` (between publishing a file's rows and committing). The injection
itself is not part of the platform: ``devtools/faults.py`` holds it, loaded only when
``TOTALPLACE_FAILPOINT`` names a point - which only the fault suite (``tests/faults``, ``make
chaos``) sets. Unset, a point costs one environment lookup.
"""

from __future__ import annotations

import importlib
import os

POINTS = ("copy", "publish")


def reached(point: str, conn=None, url: str | None = None) -> None:
    if not os.environ.get("TOTALPLACE_FAILPOINT"):
        return
    # by name, at run time: the platform does not depend on the development tools
    importlib.import_module("devtools.faults").hit(point, conn, url)
