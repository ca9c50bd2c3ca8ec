"""Partner bodies (``partners.yml``): who sends which feeds, from which SFTP account.

Read once per file received, to record the sending body in the ledger and on every published
row. A partner naming a feed without a contract, or a feed no partner sends, is a clear error.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict

from totalplace.contracts import Contract, ContractError, load_contracts, load_yaml_model


class Partner(BaseModel):
    model_config = ConfigDict(extra="forbid")
    body: str
    agency_type: str
    account: str | None
    feeds: list[str]


class Partners(BaseModel):
    model_config = ConfigDict(extra="forbid")
    partners: list[Partner]

    def body_for(self, agency: str, feed: str, account: str | None = None) -> str:
        """The body sending ``agency/feed`` (on ``account`` when several bodies send the same feed)."""
        senders = [p for p in self.partners if p.agency_type == agency and feed in p.feeds
                   and (account is None or p.account == account)]
        if not senders:
            raise ContractError(f"no partner in partners.yml sends {agency}/{feed}"
                                + (f" from account {account!r}" if account else ""))
        return senders[0].body

    def check(self, contracts: dict[str, Contract]) -> None:
        for p in self.partners:
            for feed in p.feeds:
                if f"{p.agency_type}__{feed}" not in contracts:
                    raise ContractError(f"partners.yml: {p.body} sends {p.agency_type}/{feed}, which has no contract")
        sent = {f"{p.agency_type}__{f}" for p in self.partners for f in p.feeds}
        unsent = sorted(set(contracts) - sent)
        if unsent:
            raise ContractError(f"partners.yml: no partner sends {', '.join(unsent)}")


def load_partners(path: Path, feeds_dir: Path | None = None) -> Partners:
    partners: Partners = load_yaml_model(path, Partners, "partners")  # type: ignore[assignment]
    if feeds_dir is not None:
        partners.check(load_contracts(feeds_dir))
    return partners
