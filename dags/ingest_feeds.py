"""One ``ingest_<agency>__<feed>`` DAG per partner feed contract in ``feeds/``.

The exception to "one file per DAG": every ingest DAG has the same shape and differs only by its
contract (cal-itp/data-infra style), so this file turns each ``feeds/<agency>/<feed>.yml`` into a
DAG. Adding a feed is adding a contract. The work itself lives in ``totalplace.ingest`` (one module per stage).
"""

from __future__ import annotations

from airflow.sdk import Asset, AssetWatcher, dag, task

from totalplace.contracts import Contract, load_contracts
from totalplace.dag_defaults import START_DATE, Tag, default_args
from totalplace.partners import registry
from totalplace.settings import Settings

DOC = """\
### {title} ({agency}/{feed})

Takes complete files from `inbox/{feed}/` of the SFTP account of each body that sends it
({senders}), records each in `ops.file_ledger` with its sending body, COPYs it into `landing`, runs
the Great Expectations suite `{suite}` on it in PostgreSQL, then publishes the rows into `raw.{key}`
(one transaction) or moves them to `quarantine` and writes a report to the sender's
`outbox/{feed}/`. A quarantined file is an outcome, not a task failure.

* **Contract:** `feeds/{agency}/{feed}.yml` - **publisher:** {publisher}
* **Runs:** within seconds of a file being complete in a sender's inbox (the triggerer's watcher on
  every inbox fires the asset `{inbox}`), whatever the date; `ops__inbox_sweep` starts it every hour
  too when a file waits that no watcher announced. When files are *due* is the contract's `due` rule
  (the submissions calendar), not when they are taken.
* **Re-run:** clear any task; each step reads the ledger and skips what is already done.
* **Who to call:** {owner} &lt;{email}&gt;
"""


def inbox_asset(contract: Contract) -> Asset:
    """The asset a file completing in an inbox of this feed updates, watched by the triggerer."""
    from totalplace.airflow_triggers import InboxTrigger

    return Asset(
        name=f"inbox__{contract.key}", uri=f"totalplace://inbox/{contract.key}",
        watchers=[AssetWatcher(name=f"inbox_watch__{contract.key}",
                               trigger=InboxTrigger(agency=contract.agency, feed=contract.feed,
                                                    poll_seconds=Settings().inbox_poll_seconds))])


def build_ingest_dag(contract: Contract):
    key = (contract.agency, contract.feed)
    senders = registry(Settings()).sending(*key)

    @dag(
        dag_id=contract.dag_id,
        schedule=inbox_asset(contract),
        start_date=START_DATE,
        catchup=False,
        max_active_runs=1,
        tags=[Tag.LAYER_INGEST, Tag.agency(contract.agency), *(Tag.body(p.account) for p in senders)],
        default_args=default_args(contract.owner.name),
        doc_md=DOC.format(title=contract.title, agency=contract.agency, feed=contract.feed, suite=contract.suite_name,
                          key=contract.key, senders=", ".join(f"`{p.account}` ({p.body})" for p in senders),
                          publisher=contract.publisher or "-", inbox=f"totalplace://inbox/{contract.key}",
                          owner=contract.owner.name, email=contract.owner.email),
    )
    def ingest():
        @task
        def fetch(triggering_asset_events=None) -> list[list[int]]:
            """The files to take - from the inboxes the watcher announced files in, or every sender's when
            the run has another start - in shares the workers take up side by side (up to ``ingest_shares``;
            a body's files in one share, in order): a month of 300 councils' files is not one worker's queue."""
            from totalplace.ingest import receive

            settings = Settings()
            events = triggering_asset_events or {}
            accounts = receive.announced_accounts([e.extra for asset in events for e in events[asset]])
            return receive.shares(settings, receive.fetch(settings, _contract(*key), accounts), settings.ingest_shares)

        @task
        def load(file_ids: list[int]) -> list[int]:
            from totalplace.ingest import land

            settings, contract = Settings(), _contract(*key)
            return [i for i in file_ids if land.load(settings, contract, i) == "validating"]

        @task
        def validate(file_ids: list[int]) -> list[int]:
            from totalplace.ingest import gate

            settings, contract = Settings(), _contract(*key)
            for file_id in file_ids:
                gate.validate(settings, contract, file_id)
            return file_ids

        @task(outlets=[Asset(contract.asset_uri)])
        def publish(file_ids: list[int]) -> dict[str, int]:
            from totalplace.ingest.publish import publish as publish_file

            settings, contract = Settings(), _contract(*key)
            counts: dict[str, int] = {}
            for file_id in file_ids:
                outcome = publish_file(settings, contract, file_id)
                counts[outcome.status] = counts.get(outcome.status, 0) + 1
            return counts

        # each share goes through land, gate and publish as its own mapped task instances
        publish.expand(file_ids=validate.expand(file_ids=load.expand(file_ids=fetch())))

    return ingest()


def _contract(agency: str, feed: str) -> Contract:
    from totalplace.contracts import get_contract

    return get_contract(Settings().feeds_dir, agency, feed)


for _contract_obj in load_contracts(Settings().feeds_dir).values():
    if _contract_obj.agency in registry(Settings()).agency_types:
        globals()[_contract_obj.dag_id] = build_ingest_dag(_contract_obj)
