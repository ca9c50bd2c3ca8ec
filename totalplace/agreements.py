"""Data-sharing agreements (``agreements.yml``), enforced by the pipeline.

The ICO Data Sharing Code asks that every sharing of personal data rests on an agreement saying
what it is for, on what lawful basis, for how long the data is kept, and when it is reviewed.
Here the agreement is not a PDF beside the platform but a rule in it:

- a file is accepted only when a *live* agreement (started, not expired) covers its sender and
  feed - otherwise it is refused with a report naming what is missing or expired;
- the agreement is recorded in the ledger and on every published row (``_agreement``);
- each agreement pseudonymises with its own key (``keys/<key>.key``), so pseudonyms made under two
  agreements cannot be joined - unless both name the same key and list each other in ``joins_with``;
- the retention DAG deletes files and rows older than the agreement's ``retention_days``.
"""

from __future__ import annotations

import datetime as dt
from fnmatch import fnmatchcase
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from totalplace.contracts import SNAKE, Contract, ContractError, load_yaml_model


class Agreement(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = Field(description="stable identifier, recorded on every row shared under it")
    title: str
    purpose: str = Field(description="what the sharing is for - and so what the data may be used for")
    lawful_basis: str = Field(description="UK GDPR Article 6 basis (and Article 9 condition for health data)")
    partners: list[str] = Field(description="bodies (partners.yml) sharing under this agreement")
    feeds: list[str] = Field(description="<agency>/<feed> of the feeds it covers")
    starts: dt.date
    review: dt.date = Field(description="date by which the partners review the agreement")
    expires: dt.date = Field(description="no file is accepted after this date")
    retention_days: int = Field(ge=1, description="files and rows older than this are deleted")
    key: str | None = Field(default=None, description="pseudonymisation key name (default: the id)")
    joins_with: list[str] = Field(default_factory=list,
                                  description="other agreements whose pseudonyms may be linked with these (same key)")

    @field_validator("id", "key")
    @classmethod
    def _name(cls, v: str | None) -> str | None:
        if v is not None and not SNAKE.match(v.replace("-", "_")):
            raise ValueError(f"{v!r}: lower case letters, digits, - and _ only")
        return v

    @model_validator(mode="after")
    def _dates(self) -> Agreement:
        if not self.starts <= self.review <= self.expires:
            raise ValueError(f"agreement {self.id}: starts ({self.starts}) <= review ({self.review}) <= expires "
                             f"({self.expires}) must hold")
        return self

    @property
    def key_name(self) -> str:
        return self.key or self.id

    def live_on(self, day: dt.date) -> bool:
        return self.starts <= day <= self.expires

    def covers(self, body: str, agency: str, feed: str) -> bool:
        """Listed body and feed; shell-style patterns ("council/*") cover a whole group."""
        return (any(fnmatchcase(body, p) for p in self.partners)
                and any(fnmatchcase(f"{agency}/{feed}", f) for f in self.feeds))


class NoAgreement(Exception):
    """No live agreement covers a sender and feed; the message says what was found instead."""


class Agreements(BaseModel):
    model_config = ConfigDict(extra="forbid")
    agreements: list[Agreement]

    @model_validator(mode="after")
    def _keys_not_shared_silently(self) -> Agreements:
        ids = [a.id for a in self.agreements]
        if len(ids) != len(set(ids)):
            raise ValueError("agreement ids must be unique")
        by_id = {a.id: a for a in self.agreements}
        for a in self.agreements:
            for other in self.agreements:
                if other.id != a.id and other.key_name == a.key_name and (
                        other.id not in a.joins_with or a.id not in other.joins_with):
                    raise ValueError(f"agreements {a.id} and {other.id} use the same pseudonymisation key "
                                     f"{a.key_name!r}: each must list the other in joins_with, or use its own key")
            for name in a.joins_with:
                if name not in by_id:
                    raise ValueError(f"agreement {a.id}: joins_with names unknown agreement {name!r}")
        return self

    def for_file(self, body: str, agency: str, feed: str, day: dt.date) -> Agreement:
        """The live agreement covering ``body`` sending ``agency/feed`` on ``day``."""
        covering = [a for a in self.agreements if a.covers(body, agency, feed)]
        live = [a for a in covering if a.live_on(day)]
        if live:
            return live[0]
        if covering:
            a = covering[0]
            when = f"expired on {a.expires}" if day > a.expires else f"starts on {a.starts}"
            raise NoAgreement(f"the data-sharing agreement {a.id} ({a.title}) covering {body} sending "
                              f"{agency}/{feed} {when}; no file can be accepted until it is renewed")
        raise NoAgreement(f"no data-sharing agreement covers {body} sending {agency}/{feed}: the file "
                          "was not loaded (the agreement must list the body and the feed)")

    def by_id(self, agreement_id: str) -> Agreement:
        for a in self.agreements:
            if a.id == agreement_id:
                return a
        raise KeyError(agreement_id)

    def check(self, contracts: dict[str, Contract]) -> None:
        """Every feed an agreement names has a contract, and every feed is covered by one."""
        for a in self.agreements:
            for feed in a.feeds:
                if not any(fnmatchcase(key.replace("__", "/"), feed) for key in contracts):
                    raise ContractError(f"agreements.yml: {a.id} covers {feed}, which has no contract")
        missing = sorted(key for key in contracts
                         if not any(fnmatchcase(key.replace("__", "/"), f) for a in self.agreements for f in a.feeds))
        if missing:
            raise ContractError(f"agreements.yml: no agreement covers {', '.join(missing)}")


def load_agreements(path: Path) -> Agreements:
    return load_yaml_model(path, Agreements, "agreements")  # type: ignore[return-value]
