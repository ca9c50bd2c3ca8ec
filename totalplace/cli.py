"""``totalplace``: the command line of the platform.

Command names and options are a public interface (scripts and partners' runbooks call them):
up, migrate, down, status, drop, run, validate, sql, ledger, report, feeds, generate, airflow. (The demo and the
benchmark are development tools: ``python -m devtools demo|bench``, run by ``make demo`` and ``make bench``.)
Every command ends with a one-line summary; errors are one readable line with a hint
(``--debug`` shows the trace).
"""

from __future__ import annotations

import json
import logging
import os
import sys
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from totalplace.output import console, dag_progress, err, print_files, print_rejections, print_rows
from totalplace.settings import Settings

app = typer.Typer(add_completion=False, no_args_is_help=True, help=__doc__.split("\n")[0])


class State:
    debug = False


@app.callback()
def main(debug: Annotated[bool, typer.Option("--debug", help="Show full tracebacks and library logs.")] = False) -> None:
    State.debug = debug
    # what the platform writes (kept extracts, keys, logs, Airflow's and dbt's files) is its own
    os.umask(0o077)
    s = Settings()
    from totalplace.state import private_dir

    private_dir(s.run_dir, s)
    os.environ.setdefault("XDG_RUNTIME_DIR", str(s.run_dir))
    logging.basicConfig(level=logging.INFO if debug else logging.WARNING,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if not debug:
        from totalplace.pipeline import quiet_libraries

        quiet_libraries()


def settings() -> Settings:
    return Settings()


def fail(message: str, hint: str | None = None, code: int = 2) -> None:
    err.print(f"[bold red]error:[/] {message}")
    if hint:
        err.print(f"[dim]hint: {hint}[/]")
    raise typer.Exit(code)


def guarded(fn):
    """Turn expected failures into one line + hint; --debug re-raises for the trace."""
    import functools

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except typer.Exit:
            raise
        except Exception as exc:  # noqa: BLE001 - the CLI's last line of defence
            if State.debug:
                raise
            from totalplace.contracts import ContractError
            from totalplace.warehouse import WarehouseNotRunning

            hint = "run again with --debug for the full trace"
            if isinstance(exc, WarehouseNotRunning):
                hint = "start the platform with `totalplace up`"
            elif isinstance(exc, ContractError):
                hint = "list feeds with `totalplace feeds`"
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            fail(f"{type(exc).__name__}: {first}", hint)

    return wrapper


def resolve_feed(s: Settings, feed: str):
    """``agency/feed``, or a bare feed name that only one agency has."""
    from totalplace.contracts import ContractError, get_contract, load_contracts

    if "/" in feed:
        agency, name = feed.split("/", 1)
        return get_contract(s.feeds_dir, agency, name)
    matches = [c for c in load_contracts(s.feeds_dir).values() if c.feed == feed]
    if len(matches) == 1:
        return matches[0]
    known = ", ".join(sorted(f"{c.agency}/{c.feed}" for c in load_contracts(s.feeds_dir).values()))
    raise ContractError(f"feed {feed!r} is {'ambiguous' if matches else 'unknown'}; known feeds: {known}")


def resolve_sender(s: Settings, feed: str, account: str | None, agency: str | None = None):
    """(contract, account) of a file a partner sends: ``account`` (partners.yml) decides the agency type
    and must send the feed; without it, the feed's one sending body - a feed several bodies send
    needs ``--as`` (the platform never guesses whose file it is)."""
    from totalplace.contracts import ContractError
    from totalplace.partners import registry

    partners = registry(s)
    if account is not None:
        partner = partners.by_account(account)
        contract = resolve_feed(s, feed if "/" in feed else f"{partner.agency_type}/{feed}")
        if contract.agency != partner.agency_type or contract.feed not in partner.feeds:
            raise ContractError(f"{account} ({partner.body}) does not send {contract.agency}/{contract.feed}; "
                                f"it sends {', '.join(f'{partner.agency_type}/{f}' for f in partner.feeds)}")
        return contract, account
    contract = resolve_feed(s, f"{agency}/{feed}" if agency and "/" not in feed else feed)
    senders = [p for p in partners.sending(contract.agency, contract.feed) if p.account]
    if len(senders) != 1:
        raise ContractError(f"{contract.agency}/{contract.feed} is sent by "
                            f"{', '.join(f'{p.account} ({p.body})' for p in senders) or 'no partner body'}: "
                            "say which with --as <account>")
    return contract, senders[0].account


# ------------------------------------------------------------------ services
@app.command()
@guarded
def up() -> None:
    """Start the embedded warehouse and SFTP server (if used), create schemas, accounts and the dbt manifest."""
    from totalplace import services

    s = settings()
    with console.status("Starting the platform..."):
        url = services.up(s)
    st = services.status(s)
    console.print(f"warehouse  {url}")
    console.print(f"sftp       {st.sftp_address}  (accounts in {s.credentials_file})")
    console.print("[green]up:[/] warehouse and SFTP are running; drop files with `totalplace drop`.")


@app.command()
@guarded
def migrate() -> None:
    """Bring the warehouse's schemas, roles, grants and raw tables to this version of the platform - once,
    before the scheduler starts (compose's airflow-init runs it; `up` does the same): tasks run no DDL."""
    from totalplace import services, warehouse
    from totalplace.partners import check_registry

    s = settings()
    check_registry(s)
    url = warehouse.ensure_warehouse(s) if s.embedded else s.warehouse_url
    changes = services.prepare_warehouse(s, url)
    for change in changes:
        console.print(f"  {change}")
    console.print(f"[green]migrate:[/] the warehouse is at schema version {warehouse.schema_version(s)[:12]} "
                  f"({len(changes)} change(s) made).")


@app.command()
@guarded
def down() -> None:
    """Stop the embedded warehouse and the local SFTP server."""
    from totalplace import services

    stopped = services.down(settings())
    console.print(f"[green]down:[/] stopped {', '.join(stopped) if stopped else 'nothing (nothing was running)'}.")


@app.command()
@guarded
def status(
    show_credentials: Annotated[bool, typer.Option(help="Print the SFTP account passwords.")] = False,
) -> None:
    """Warehouse URL, SFTP address and whether each is running."""
    from totalplace import services

    s = settings()
    st = services.status(s)
    mode = "embedded" if st.warehouse_embedded else "external"
    console.print(f"warehouse  {st.warehouse_url or '-'}  ({mode}, {'running' if st.warehouse_up else 'not running'})")
    where = "local server" if st.sftp_local else "external server"
    console.print(f"sftp       {st.sftp_address or '-'}  ({where}, {'running' if st.sftp_up else 'not running'})")
    console.print(f"dbt        manifest {'present' if st.manifest_present else 'missing'} at {st.manifest}")
    console.print(f"watcher    {services.watcher_summary(s)}", markup=False)
    if show_credentials and s.credentials_file.exists():
        for account, password in json.loads(s.credentials_file.read_text()).items():
            console.print(f"account    {account}: {password}")
    from totalplace.state import loose_entries

    loose = loose_entries(s)
    if loose:
        console.print(f"state      [red]the state folder {s.state_dir} is not private[/]: another local user may "
                      "read or list:")
        for line in loose:
            console.print(f"           {line}", markup=False)
    else:
        console.print(f"state      the state folder {s.state_dir} is private: no other local user reads or lists it")
    up_ = st.warehouse_up and st.sftp_up
    if loose:
        fail(f"{len(loose)} entr{'y' if len(loose) == 1 else 'ies'} of the state folder can be read by other users",
             "`totalplace up` makes them owner-only again", code=1)
    console.print(f"[{'green' if up_ else 'yellow'}]status:[/] {'all running' if up_ else 'not all running; start with `totalplace up`'}.")
    raise typer.Exit(0 if up_ else 1)


# ------------------------------------------------------------------ partner side
@app.command()
@guarded
def drop(
    files: Annotated[list[Path], typer.Argument(exists=True, dir_okay=False, readable=True, help="Files to send.")],
    feed: Annotated[str, typer.Option(help="Feed folder to upload into: inbox/<feed>/ (or agency/feed).")],
    account: Annotated[str | None, typer.Option(
        "--as", help="The partner body's SFTP account to upload as (partners.yml; needed when several "
        "bodies send the feed).")] = None,
    agency: Annotated[str | None, typer.Option(help="Agency type, when the feed's name is not unique.")] = None,
    marker: Annotated[bool, typer.Option(help="Write a .done marker after each upload.")] = True,
) -> None:
    """Upload files over SFTP as a partner body into inbox/<feed>/ (as the partner would)."""
    from connectors.sftp import open_account

    s = settings()
    contract, account = resolve_sender(s, feed, account, agency)
    with open_account(s, account) as session:
        for path in files:
            remote = session.upload(path, contract.feed, marker=marker)
            console.print(f"sent {path} -> {account}:{remote} ({path.stat().st_size:,} bytes)")
    console.print(f"[green]drop:[/] {len(files)} file(s) in {account}:inbox/{contract.feed}/; the platform's Airflow "
                  f"(`totalplace airflow`, {contract.dag_id} unpaused) takes them within seconds - without it, "
                  "`totalplace run` processes every inbox now.")


@app.command()
@guarded
def validate(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)],
    feed: Annotated[str, typer.Option(help="Feed as agency/feed (or feed if unique), e.g. police/street_crime.")],
    account: Annotated[str | None, typer.Option(
        "--as", help="The sending body's account (partners.yml): the file is read as a run would read that "
        "body's (its mapping, its agreement, its name where the file gives none). Needed when several "
        "bodies send the feed.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Pre-flight check of a file against its feed's rules. Exit 0 if it would be accepted, 1 if not."""
    import stat

    from totalplace import ingest, services
    from totalplace.reports import render_text

    if not stat.S_ISREG(file.stat().st_mode):  # a device or a pipe would be read for ever
        fail(f"{file} is not a regular file (a device, a pipe or a socket)", "give the path of the file itself")
    from totalplace.partners import check_registry

    s = settings()
    check_registry(s)
    contract, account = resolve_sender(s, feed, account)
    if s.embedded:
        services.up(s)
    report = ingest.check_file(s, contract, file, account)
    if as_json:
        sys.stdout.write(json.dumps(report, indent=2, default=str) + "\n")
    else:
        console.print(render_text(report), end="")
    passed = report["outcome"] == "passed"
    if not as_json:
        console.print(f"[{'green' if passed else 'red'}]validate:[/] {file.name} {'passes' if passed else 'fails'} "
                      f"{contract.agency}/{contract.feed} ({len(report['problems'])} problem(s)).")
    raise typer.Exit(0 if passed else 1)


@app.command(name="map")
@guarded
def map_columns(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)],
    feed: Annotated[str, typer.Option(help="Feed as agency/feed (or feed if unique), e.g. council/spend_over_500.")],
    account: Annotated[str | None, typer.Option(
        "--as", help="The sending body's account (partners.yml); needed when several bodies send the feed.")] = None,
    force: Annotated[bool, typer.Option(help="Replace the body's existing mapping file.")] = False,
) -> None:
    """Propose a partner mapping from a file whose headers the feed's names do not settle, and write
    it for review (feeds/<agency>/mappings/<feed>/<body>.yml); then `reprocess` the quarantined file."""
    from totalplace import ingest
    from totalplace.mappings import mapping_path, write_mapping

    s = settings()
    contract, account = resolve_sender(s, feed, account)
    body = ingest.sender(s, contract, account)
    path = mapping_path(s.feeds_dir, contract, body)
    if path.exists() and not force:
        fail(f"{body} already has a mapping for {contract.agency}/{contract.feed}: {path}", "edit it, or run with --force")
    columns, comments = ingest.propose_mapping(s, contract, file, body)
    if not columns:
        console.print(f"map: the feed's own names read every column of {file.name}; no mapping is needed.")
        return
    write_mapping(path, body, contract, columns, comments)
    for header, column in columns.items():
        console.print(f"  {header!r} -> {column}")
    for line in comments:
        console.print(f"  [dim]# {line}[/]")
    console.print(f"[green]map:[/] wrote {path} - review it (lines marked CHECK were guesses), commit it, then "
                  "`totalplace reprocess` the quarantined file.")


def _warehouse_state(summary) -> str:
    """What became of the warehouse in a run, in words that do not claim a failed build happened."""
    if not summary.transformed:
        return "unchanged"
    built = next((r.ok for r in summary.dag_results if r.dag_id == "transform__dbt_build"), False)
    return "rebuilt" if built else "not rebuilt (the build failed: the published warehouse is as it was)"


# ------------------------------------------------------------------ engineer side
@app.command()
@guarded
def run(
    verbose: Annotated[bool, typer.Option(help="Show Airflow and dbt output instead of logging it to a file.")] = False,
    transform: Annotated[str, typer.Option(help="auto (when something was published or the dbt project changed), always or never.")] = "auto",
) -> None:
    """Process every inbox through the ingest DAGs, then rebuild the warehouse (transform DAG)."""
    from totalplace import pipeline

    s = settings()
    with dag_progress("Running the DAGs in-process") as progress:
        summary = pipeline.run_all(s, quiet=not verbose, transform=transform, progress=progress)
    print_files(summary.files, title="Files processed in this run")
    for r in summary.dag_results:
        style = "green" if r.ok else "red"
        extra = f" failed tasks: {', '.join(r.failed_tasks)}" if r.failed_tasks else ""
        console.print(f"dag {r.dag_id}: [{style}]{r.state}[/]{extra}")
    if summary.log_file:
        console.print(f"[dim]Airflow/dbt log: {summary.log_file}[/]")
    line = (f"{len(summary.files)} file(s): {summary.count('published')} published, {summary.count('quarantined')} "
            f"quarantined, {summary.count('duplicate')} duplicate; warehouse "
            f"{_warehouse_state(summary)}")
    if not summary.ok:
        fail(f"run: a DAG run failed ({line})", f"see {summary.log_file or 'the output above'}", code=1)
    console.print(f"[green]run:[/] {line}.")


@app.command()
@guarded
def sql(
    query: Annotated[str, typer.Argument(help="One query: SELECT, WITH ... SELECT, VALUES or TABLE (run read-only).")],
    format: Annotated[str, typer.Option("--format", "-f", help="table, csv or json")] = "table",
    limit: Annotated[int, typer.Option(min=0, help="Rows to fetch at most (the rest are never fetched).")] = 1000,
    as_role: Annotated[str, typer.Option(
        "--as", help="Database role to query as: analyst (published marts only), a partner body's account "
        "(partners.yml: the rows it sent), transformer, loader, or admin.")] = "analyst",
) -> None:
    """Query the warehouse read-only, one statement, with a time limit; recorded in ops.audit_log first."""
    from totalplace.query import QueryFailed, QueryRefused, run_query

    try:
        result = run_query(settings(), query, role=as_role, limit=limit)
    except QueryRefused as exc:
        fail(f"refused: {exc}", "one read-only query per call; see `totalplace sql --help`")
    except QueryFailed as exc:
        fail(str(exc), "narrow the query, or raise TOTALPLACE_SQL_TIMEOUT_SECONDS" if "timeout" in str(exc) else None,
             code=1)
    print_rows(result.names, result.rows, format)
    if format == "table":
        more = f" (the first {limit}; more were not fetched - raise --limit)" if result.more else ""
        console.print(f"[green]sql:[/] {len(result.rows)} row(s){more}.")


@app.command("grant")
@guarded
def grant_cmd(
    role: Annotated[str, typer.Argument(help="analyst, or a partner body's account (partners.yml)")],
    user: Annotated[str, typer.Argument(help="The person's database login (created if new).")],
    password_stdin: Annotated[bool, typer.Option(
        "--password-stdin", help="Read the new login's password from standard input (default: generated, shown "
        "once). Never on the command line, where every local user can read it in the process list.")] = False,
) -> None:
    """Give a person's database login the rights of a role (recorded in ops.audit_log)."""
    import secrets

    from totalplace.access import grant
    from totalplace.warehouse import connect, warehouse_url

    password = sys.stdin.readline().rstrip("\r\n") if password_stdin else None
    if password_stdin and len(password or "") < 12:
        fail("the password read from standard input is shorter than 12 characters")
    chosen = password or secrets.token_urlsafe(18)
    try:
        with connect(warehouse_url(settings())) as conn:
            done = grant(conn, role, user, chosen, settings())
    except ValueError as exc:
        fail(str(exc))
    if "created" in done and password is None:
        console.print(f"password of the new login {user}: {chosen}  (shown once)", markup=False)
    console.print(f"[green]grant:[/] {done}.")


@app.command("revoke")
@guarded
def revoke_cmd(
    role: Annotated[str, typer.Argument(help="analyst, or a partner body's account (partners.yml)")],
    user: Annotated[str, typer.Argument(help="The person's database login.")],
) -> None:
    """Take a role away from a person's login (recorded in ops.audit_log)."""
    from totalplace.access import revoke
    from totalplace.warehouse import connect, warehouse_url

    try:
        with connect(warehouse_url(settings())) as conn:
            done = revoke(conn, role, user)
    except ValueError as exc:
        fail(str(exc))
    console.print(f"[green]revoke:[/] {done}.")


@app.command("reprocess")
@guarded
def reprocess_cmd(file_id: Annotated[int, typer.Argument(help="ops.file_ledger.file_id")]) -> None:
    """Run a quarantined or failed file again from its kept bytes (after its contract was fixed)."""
    from totalplace import ingest
    from totalplace.contracts import get_contract
    from totalplace.ingest import ledger
    from totalplace.warehouse import connect, pipeline_url

    s = settings()
    with connect(pipeline_url(s, "loader")) as conn:
        entry = ledger.get_entry(conn, file_id)
    if entry is None:
        fail(f"no file {file_id} in the ledger", "list files with `totalplace ledger`")
    outcome = ingest.reprocess(s, get_contract(s.feeds_dir, entry.agency, entry.feed), file_id)
    console.print(f"[green]reprocess:[/] file {file_id} ({outcome.name}) is {outcome.status}"
                  + (f": {outcome.error}" if outcome.error else "") + ".")


@app.command("backfill")
@guarded
def backfill_cmd(
    feed: Annotated[str, typer.Option(help="Feed as agency/feed.")],
    since: Annotated[str, typer.Option(help="Files received on or after this date (YYYY-MM-DD).")],
) -> None:
    """Reprocess every quarantined or failed file of a feed received since a date."""
    from datetime import date

    from totalplace import ingest

    s = settings()
    contract = resolve_feed(s, feed)
    outcomes = ingest.backfill(s, contract, date.fromisoformat(since))
    for o in outcomes:
        console.print(f"   file {o.file_id} ({o.name}): {o.status}" + (f" - {o.error}" if o.error else ""), markup=False)
    console.print(f"[green]backfill:[/] {len(outcomes)} file(s) of {contract.agency}/{contract.feed} run again.")


@app.command("grants")
@guarded
def grants_cmd(
    check: Annotated[bool, typer.Option("--check", help="Exit 1 when the grants differ from deploy/grants.yml.")] = False,
) -> None:
    """What each database role may do (effective rights), as YAML - or checked against the approved manifest."""
    import yaml

    from totalplace.access import grants_snapshot
    from totalplace.settings import PROJECT_ROOT
    from totalplace.warehouse import connect, warehouse_url

    with connect(warehouse_url(settings())) as conn:
        snapshot = grants_snapshot(conn, settings())
    if not check:
        print(yaml.safe_dump(snapshot, sort_keys=False, width=120), end="")
        return
    approved = yaml.safe_load((PROJECT_ROOT / "deploy" / "grants.yml").read_text())
    extra = {r: sorted(set(snapshot.get(r, [])) - set(approved.get(r, []))) for r in snapshot}
    missing = {r: sorted(set(approved.get(r, [])) - set(snapshot.get(r, []))) for r in approved}
    problems = [f"{r} may also: {x}" for r, xs in extra.items() for x in xs]
    # a family of tables with none yet (no quarantined file) shows no right; a missing right on the
    # database, a schema or a function is a role that cannot do its work
    problems += [f"{r} may not: {x}" for r, xs in missing.items() for x in xs if not x.startswith("table ")]
    for line in problems:
        console.print(line, markup=False)
    for r, xs in missing.items():
        for x in xs:
            if x.startswith("table "):
                console.print(f"{r} (not seen, e.g. no such table yet): {x}", markup=False)
    if problems:
        fail(f"{len(problems)} right(s) differ from deploy/grants.yml", "review them; if intended, update the manifest",
             code=1)
    console.print("[green]grants:[/] no role may do more than deploy/grants.yml approves.")


def print_submissions(agency: str | None = None, account: str | None = None) -> list:
    from totalplace.submissions import expected_submissions
    from totalplace.warehouse import connect, warehouse_url

    s = settings()
    with connect(warehouse_url(s)) as conn:
        rows = [e for e in expected_submissions(s, conn) if agency in (None, e.agency) and account in (None, e.account)]
    print_rows(["feed", "sent by", "expected", "last due", "last received", "status"],
               [[e.key, e.sent_by, e.rule, e.due, e.last_received.strftime("%Y-%m-%d %H:%M") if e.last_received
                 else "never", e.status] for e in rows], "table")
    return rows


@app.command("submissions")
@guarded
def submissions_cmd(agency: Annotated[str | None, typer.Option(help="Only this agency's feeds.")] = None) -> None:
    """Extracts expected by their contracts' due dates, and which are on time, late or missing."""
    rows = print_submissions(agency)
    missing = sum(1 for e in rows if e.status == "missing")
    console.print(f"[green]submissions:[/] {len(rows)} expected, {missing} missing, "
                  f"{sum(1 for e in rows if e.status == 'late')} late.")


@app.command("ledger")
@guarded
def ledger_cmd(
    agency: Annotated[str | None, typer.Option(help="Only this agency type's files.")] = None,
    account: Annotated[str | None, typer.Option(
        "--as", help="The partner's view: as this body's account (partners.yml), its own files only.")] = None,
    feed: Annotated[str | None, typer.Option(help="Only this feed.")] = None,
    limit: Annotated[int, typer.Option(help="Newest files to show.")] = 50,
    format: Annotated[str, typer.Option("--format", "-f", help="table, csv or json")] = "table",
) -> None:
    """Files received and what became of them (ops.file_ledger); with --as, the partner's view: read
    as the body's own role (it sees its files only), with why each rejected file was rejected."""
    from totalplace.ingest import ledger
    from totalplace.partners import registry
    from totalplace.warehouse import connect, pipeline_url, warehouse_url

    s = settings()
    if account is not None:
        registry(s).by_account(account)  # an unknown account is a clear error, not an empty view
    url = pipeline_url(s, account) if account else warehouse_url(s)
    with connect(url) as conn:
        entries = ledger.list_entries(conn, agency=agency, feed=feed, limit=limit)
    if format == "table":
        print_files(entries, title="File ledger (newest first)")
        if account:  # the partner's view: why files were rejected, and which extracts are due, late or missing
            print_rejections(entries)
            print_submissions(account=account)
        counts: dict[str, int] = {}
        for e in entries:
            counts[e.status] = counts.get(e.status, 0) + 1
        console.print("[green]ledger:[/] " + (", ".join(f"{n} {s}" for s, n in sorted(counts.items())) or "no files") + ".")
    else:
        cols = ["file_id", "agency", "feed", "name", "status", "rows", "bytes", "sha256", "received_at", "finished_at", "error"]
        print_rows(cols, [[getattr(e, c) for c in cols] for e in entries], format)


@app.command()
@guarded
def report(
    out: Annotated[Path | None, typer.Option(help="Folder to write the site to (default: site/ in the state folder).")] = None,
    dbt_docs: Annotated[bool, typer.Option("--dbt-docs", help="Generate the dbt data dictionary first "
                                           "(dbt docs generate --static, about 30 s) and link it from the site.")] = False,
) -> None:
    """Build the place profiles: a static HTML site from the published marts, one page per place."""
    from totalplace import report as site
    from totalplace.warehouse import warehouse_url

    s = settings()
    warehouse_url(s)  # says how to start the warehouse when it is not running
    with console.status("reading the published marts and the ledger ...") as status:
        if dbt_docs:
            status.update("generating the dbt data dictionary (dbt docs generate --static) ...")
            site.generate_dbt_docs(s)
        status.update("writing the site ...")
        summary = site.build_site(s, out)
    console.print(f"[green]report:[/] {summary.places} place profiles, {summary.partners} partner pages "
                  f"({summary.files} files){', dbt docs' if summary.dbt_docs else ''} -> {summary.index}")


@app.command()
@guarded
def feeds() -> None:
    """Feed contracts with their owner, schedule and last publication."""
    from totalplace.contracts import load_contracts
    from totalplace.warehouse import WarehouseNotRunning, connect, warehouse_url

    s = settings()
    contracts = load_contracts(s.feeds_dir)
    last: dict[tuple[str, str], datetime] = {}
    try:
        with connect(warehouse_url(s)) as conn:
            for agency, feed, at in conn.execute(
                "select agency, feed, max(finished_at) from ops.file_ledger where status = 'published' group by 1, 2"
            ):
                last[(agency, feed)] = at
    except (WarehouseNotRunning, Exception):  # noqa: BLE001 - the list is useful without the warehouse
        pass
    table = Table(title="Feeds")
    for col in ("feed", "title", "owner", "schedule", "last published"):
        table.add_column(col)
    for c in contracts.values():
        at = last.get((c.agency, c.feed))
        table.add_row(f"{c.agency}/{c.feed}", c.title, c.owner.name, c.schedule, f"{at:%Y-%m-%d %H:%M}" if at else "-")
    console.print(table)
    console.print(f"[green]feeds:[/] {len(contracts)} contract(s) in {s.feeds_dir}.")


@app.command()
@guarded
def generate(check: Annotated[bool, typer.Option(help="Only report whether generated files are stale.")] = False) -> None:
    """Regenerate the dbt source YAML (from the feed contracts) and the deployment's SFTP accounts (from
    partners.yml); with --check, fail when any is stale."""
    from totalplace.contracts import load_contracts
    from totalplace.dbt_sources import source_paths
    from totalplace.partners import check_registry, deploy_files
    from totalplace.settings import PROJECT_ROOT

    s = settings()
    contracts = load_contracts(s.feeds_dir)
    files = {**source_paths(s.dbt_project_dir, contracts), **deploy_files(check_registry(s), PROJECT_ROOT)}
    stale = [p for p, text in files.items() if not p.exists() or p.read_text() != text]
    if check:
        if stale:
            fail("generated files are stale: " + ", ".join(str(p) for p in stale), "run `totalplace generate`", 1)
        console.print("[green]generate:[/] generated files match the contracts and partners.yml.")
        return
    for path in stale:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(files[path])
    console.print(f"[green]generate:[/] {len(stale)} file(s) rewritten.")


@app.command()
@guarded
def airflow(
    port: Annotated[int, typer.Option(help="Port of the Airflow UI/API on 127.0.0.1.")] = 8080,
    workers: Annotated[int, typer.Option(help="Celery workers: run as deployed (Redis, PostgreSQL metadata, "
                                              "scheduler, DAG processor, triggerer); 0: `airflow standalone`.")] = 0,
    unpaused: Annotated[bool, typer.Option(help="Start the project's DAGs unpaused: files are then taken as they "
                                                "arrive, with no command.")] = False,
) -> None:
    """Run Airflow with the project's DAGs (the scheduler takes every file dropped); Ctrl-C stops it all."""
    from totalplace import airflow_cluster, airflow_env, services

    s = settings()
    url = services.up(s)
    user, password = airflow_env.ui_login(s)
    console.print(f"Airflow UI: http://127.0.0.1:{port}  login: {user} / {password}")
    if unpaused:
        os.environ["AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION"] = "False"
        console.print("The DAGs start unpaused: a file dropped is taken within seconds (the triggerer watches every "
                      "inbox), published, the marts rebuilt and the site rewritten - no command needed.")
    else:
        console.print("The DAGs appear within a minute, paused: unpause ingest_<agency>__<feed> for the feeds to "
                      "take, transform__dbt_build and publish__place_profiles (or start with --unpaused).")
    sys.stdout.flush()
    if workers > 0:
        console.print(f"[green]airflow:[/] starting the API server, scheduler, DAG processor, triggerer, Redis and "
                      f"{workers} Celery worker(s); Ctrl-C stops them all.")
        raise typer.Exit(airflow_cluster.run_cluster(s, url, port, workers, lambda msg: console.print(f"[dim]{msg}[/]")))
    env = airflow_cluster.server_environment(s, url, port)
    airflow_env.ensure_metadata_db(s)
    console.print("[green]airflow:[/] starting `airflow standalone`; Ctrl-C stops it and its workers.")
    sys.stdout.flush()
    os.execvpe("airflow", ["airflow", "standalone"], env)


if __name__ == "__main__":
    app()
