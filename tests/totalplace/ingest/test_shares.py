"""How an ingest run deals its files to the workers: side by side, but every body's files in one share,
oldest first - so a correction is never published before the file it corrects."""

from __future__ import annotations

from totalplace.contracts import get_contract
from totalplace.ingest import ledger
from totalplace.ingest.receive import shares
from totalplace.ingest.tables import prepare
from totalplace.warehouse import connect


def test_files_are_dealt_by_sender_in_order(settings):
    url = prepare(settings, get_contract(settings.feeds_dir, "council", "spend_over_500"))
    ids = {}
    with connect(url) as conn:
        for n, sender in enumerate(["Leeds", "Devon", "Leeds", "Oxford", "Leeds", "Devon", "Kent"]):
            entry = ledger.record_received(conn, agency="council", feed="spend_over_500", name=f"f{n}.csv",
                                           sha256=f"{n:064x}", size=1, sent_by=sender, account=None, publisher=None,
                                           synthetic=False)
            ids.setdefault(sender, []).append(entry.file_id)
    every = sorted(i for group in ids.values() for i in group)
    dealt = shares(settings, every, 3)
    assert len(dealt) == 3 and sorted(i for share in dealt for i in share) == every
    for group in ids.values():  # a body's files: one share, in the order they came
        [share] = [s for s in dealt if group[0] in s]
        assert [i for i in share if i in group] == group
    assert max(map(len, dealt)) - min(map(len, dealt)) <= 2  # Leeds's three are one share's load
    assert len(shares(settings, every, 10)) == 4  # no more shares than senders
    assert shares(settings, [], 4) == []
    assert shares(settings, every, 1) == [every]
