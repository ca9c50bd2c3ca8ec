"""The transform DAG's write-audit-publish steps, run straight (for the fault tests' subprocesses):
``totalplace.transform``, the very functions the DAG's tasks call."""

from __future__ import annotations

from totalplace.settings import Settings
from totalplace.transform import build_and_publish

if __name__ == "__main__":
    build_and_publish(Settings())
