"""Partner bodies (``partners.yml``): the one registry of who sends what, from which SFTP account.

Each body - a council, a police force, an integrated care board, a housing partnership - has its
own SFTP account, and that account's name is also the body's database role (a member of its agency
type's role, e.g. ``leeds`` in ``council``). Everything that names accounts, roles or agency types
is derived from here: the SFTP server's homes and inbox folders, the database roles and their
row-level scope (a body reads the rows *it* sent, never another body's of the same type), the
ledger's ``sent_by``, the DAG tags and the CLI's choices. Adding a council is one entry.

:func:`registry` is checked against the feed contracts when loaded (a body sending a feed without a
contract, a feed no body sends, an account that is a platform role or two bodies on one account are
errors); :func:`check_agreements` checks that every body's feeds are covered by an agreement.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, Field, model_validator

from totalplace.contracts import Contract, ContractError, load_contracts, load_yaml_model

if TYPE_CHECKING:
    from totalplace.agreements import Agreements
    from totalplace.settings import Settings

REFERENCE = "reference"
"""The agency type of the data the platform loads itself (ONS, MHCLG lookups): no account, no role."""

RESERVED_ROLES = frozenset({"loader", "transformer", "analyst", "partner", "admin", "postgres", "public",
                            REFERENCE})
"""Names an account may not take: it is also a database role, and these are the platform's own."""

ACCOUNT_NAME = re.compile(r"^[a-z][a-z0-9_]{1,39}$")


class Partner(BaseModel):
    model_config = ConfigDict(extra="forbid")
    body: str = Field(description="the body's name, as recorded on every row it sends (raw.*._sent_by)")
    agency_type: str = Field(description="police, nhs, housing, council ... (or reference: loaded by the platform)")
    account: str | None = Field(description="its SFTP account and database role (none for reference data)")
    feeds: list[str] = Field(description="the feeds it sends, of its agency type (feeds/<agency_type>/<feed>.yml)")


class Partners(BaseModel):
    model_config = ConfigDict(extra="forbid")
    partners: list[Partner]

    @model_validator(mode="after")
    def _one_account_one_body(self) -> Partners:
        types = {p.agency_type for p in self.partners}
        seen: dict[str, str] = {}
        for p in self.partners:
            if p.body in seen.values():
                raise ValueError(f"partners.yml: {p.body!r} is listed twice")
            if p.agency_type == REFERENCE:
                if p.account is not None:
                    raise ValueError(f"partners.yml: {p.body} sends reference data, loaded by the platform: "
                                     "it has no account (account: null)")
                continue
            if not p.account:
                raise ValueError(f"partners.yml: {p.body} needs an account (its SFTP login and database role)")
            if not ACCOUNT_NAME.match(p.account):
                raise ValueError(f"partners.yml: account {p.account!r} of {p.body}: 2-40 lower-case letters, "
                                 "digits and _, starting with a letter (it is also a database role)")
            if p.account in RESERVED_ROLES or p.account in types or p.account.startswith("pg_"):
                raise ValueError(f"partners.yml: account {p.account!r} of {p.body} is the name of a platform or "
                                 "agency-type role; give the body its own name (e.g. leeds, devon_cc)")
            if p.account in seen:
                raise ValueError(f"partners.yml: account {p.account!r} is given to both {seen[p.account]} and "
                                 f"{p.body}: each body has its own")
            seen[p.account] = p.body
        return self

    # ------------------------------------------------------------------ derived views of the registry
    @property
    def senders(self) -> list[Partner]:
        """The bodies that drop files (every one but the platform's own reference data)."""
        return [p for p in self.partners if p.account]

    @property
    def accounts(self) -> list[str]:
        return [p.account for p in self.senders if p.account]

    @property
    def agency_types(self) -> tuple[str, ...]:
        """Agency types with at least one sending body, in the order they first appear."""
        return tuple(dict.fromkeys(p.agency_type for p in self.senders))

    def by_account(self, account: str) -> Partner:
        for p in self.senders:
            if p.account == account:
                return p
        raise ContractError(f"no partner in partners.yml has the account {account!r} "
                            f"(accounts: {', '.join(self.accounts)})")

    def feeds_by_account(self) -> dict[str, list[str]]:
        return {p.account: list(p.feeds) for p in self.senders if p.account}

    def sending(self, agency: str, feed: str) -> list[Partner]:
        """The bodies that send ``agency/feed``."""
        return [p for p in self.partners if p.agency_type == agency and feed in p.feeds]

    def body_for(self, agency: str, feed: str, account: str | None = None) -> str:
        """The body sending ``agency/feed`` from ``account``. Without an account, the feed's one sender;
        a feed several bodies send needs the account (which body sent a file is never guessed)."""
        senders = [p for p in self.sending(agency, feed) if account is None or p.account == account]
        if not senders:
            raise ContractError(f"no partner in partners.yml sends {agency}/{feed}"
                                + (f" from the account {account!r}" if account else ""))
        if len(senders) > 1:
            raise ContractError(f"{agency}/{feed} is sent by {len(senders)} bodies "
                                f"({', '.join(p.account or p.body for p in senders)}): say which account sent it")
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


def check_agreements(partners: Partners, agreements: Agreements) -> None:
    """Every body's every feed is covered by some agreement (live or not: a lapsed one is reported when a
    file arrives), and every body an agreement names (not a pattern) is in the registry."""
    bodies = {p.body for p in partners.partners}
    for agreement in agreements.agreements:
        for named in agreement.partners:
            if not any(ch in named for ch in "*?[") and named not in bodies:
                raise ContractError(f"agreements.yml: {agreement.id} names {named!r}, which is not a body in "
                                    "partners.yml")
    for p in partners.partners:
        for feed in p.feeds:
            if not any(a.covers(p.body, p.agency_type, feed) for a in agreements.agreements):
                raise ContractError(f"agreements.yml: no agreement covers {p.body} sending {p.agency_type}/{feed}; "
                                    "its files would all be refused")


def deploy_files(partners: Partners, project_root: Path) -> dict[Path, str]:
    """{path: content} of the deployment's SFTP accounts, generated from the registry (``totalplace
    generate``; ``generate --check`` fails when they drift): atmoz/sftp's ``users.conf``, one line per
    body, and a keys folder per account for its public keys."""
    sftp = project_root / "deploy" / "sftp"
    lines = ["# Generated from partners.yml by `totalplace generate` - edit partners.yml, not this file.",
             "# OpenSSH (atmoz/sftp) accounts: name:password:uid:gid:folders, one per partner body. Each is",
             "# chrooted to /home/<name> and writes only inbox/ below it. Replace the passwords (or use keys in",
             "# deploy/sftp/keys/<name>/) before deploying; the connector reads the same credentials from the",
             "# secret sftp_credentials."]
    lines += [f"{p.account}:change-me-{p.account}:{1001 + i}:100:inbox,outbox" for i, p in enumerate(partners.senders)]
    files = {sftp / "users.conf": "\n".join(lines) + "\n"}
    for p in partners.senders:
        files[sftp / "keys" / str(p.account) / "README"] = (
            f"# {p.account} ({p.body}): put the partner's public key (<name>.pub) and the platform's "
            "(service.pub) in this folder.\n")
    return files


def check_registry(settings: Settings) -> Partners:
    """partners.yml against the feed contracts and agreements.yml - what ``totalplace up``, ``generate
    --check`` and ``validate`` run first, so a registry that does not match stops there (ContractError)."""
    from totalplace.agreements import load_agreements

    partners = load_partners(settings.partners_file, settings.feeds_dir)
    check_agreements(partners, load_agreements(settings.agreements_file))
    return partners


def load_partners(path: Path, feeds_dir: Path | None = None) -> Partners:
    partners: Partners = load_yaml_model(path, Partners, "partners")  # type: ignore[assignment]
    if feeds_dir is not None:
        partners.check(load_contracts(feeds_dir))
    return partners


@functools.lru_cache(maxsize=8)
def _cached(path: Path, mtime_ns: int) -> Partners:
    return load_partners(path)


def registry(settings: Settings) -> Partners:
    """The partners of ``settings`` (read again when the file changes)."""
    path = settings.partners_file
    return _cached(path, path.stat().st_mtime_ns)
