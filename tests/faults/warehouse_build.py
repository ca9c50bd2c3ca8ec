"""The transform DAG's write-audit-publish steps, run straight (for the fault tests' subprocesses)."""

from __future__ import annotations

from totalplace import dbt
from totalplace.publish_warehouse import BUILD_SUFFIX, audit, drop_build, swap
from totalplace.settings import Settings
from totalplace.warehouse import pipeline_url


def build_and_publish(settings: Settings) -> None:
    url = pipeline_url(settings, "transformer")
    drop_build(url)
    for layer in dbt.LAYERS:
        failed = dbt.failures(dbt.build_layer(settings, url, layer, BUILD_SUFFIX))
        assert not failed, failed
    problems = audit(url)
    assert not problems, problems
    swap(url)


if __name__ == "__main__":
    build_and_publish(Settings())
