"""`regie peer ...` and `regie federation ...`: peers, identity and keys, subscriptions, the outbox, witnessing."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from regie.cli._app import _open, app, console, load_settings

peer_app = typer.Typer(help="Peers: other régies this one exchanges with over signed HTTP.", no_args_is_help=True)
fed_app = typer.Typer(help="Federation: identity and keys, subscriptions, outbox, witnessing.", no_args_is_help=True)
app.add_typer(peer_app, name="peer")
app.add_typer(fed_app, name="federation")

DbOption = Annotated[str | None, typer.Option("--database-url", help="overrides REGIE_DATABASE_URL")]


def _base() -> str:
    settings = load_settings()
    return (settings.public_url or f"http://{settings.host}:{settings.port}").rstrip("/")


def _ring():
    from regie.federation import identity

    return identity.load_or_create(load_settings().data_dir)


def _fail(exc: Exception) -> None:
    console.print(f"[bold red]error:[/] {exc}", highlight=False)
    raise typer.Exit(65)


@peer_app.command("add")
def peer_add(
    url: Annotated[str, typer.Argument(help="the peer's address, e.g. https://regie.village.fr")],
    fingerprint: Annotated[str, typer.Option(help="its key fingerprint, read to you by its admin")],
    peer_id: Annotated[str | None, typer.Option("--id", help="a short id (default: from its name)")] = None,
    send: Annotated[str, typer.Option(help="what may flow to it: public, personal, heads")] = "public,heads",
    receive: Annotated[str, typer.Option(help="what may come from it")] = "public,heads",
    database_url: DbOption = None,
) -> None:
    """Add a peer by URL and key fingerprint (checked against its /.well-known/regie)."""
    from regie.federation import peers

    store = _open(database_url)
    try:
        p = peers.add(
            store,
            "cli",
            url=url,
            key_fingerprint=fingerprint,
            peer_id=peer_id,
            send=tuple(x for x in send.split(",") if x),
            receive=tuple(x for x in receive.split(",") if x),
        )
    except peers.PeerError as exc:
        _fail(exc)
    console.print(f"peer [bold]{p.id}[/] added: {p.name} ({p.organisation}), {len(p.keys)} key(s)", highlight=False)


@peer_app.command("list")
def peer_list(database_url: DbOption = None) -> None:
    """Peers, their status, what flows each way and their keys' fingerprints."""
    from regie.store import federation as rows

    store = _open(database_url)
    for p in rows.peers(store):
        console.print(f"{p.id}\t{p.status}\t{p.url}\tsend={','.join(sorted(p.send))}\t"
                      f"receive={','.join(sorted(p.receive))}\tkeys={','.join(k['key_id'][:16] for k in p.keys)}",
                      highlight=False, soft_wrap=True)  # fmt: skip


def _status(peer_id: str, status: str, database_url: str | None) -> None:
    from regie.federation import peers

    store = _open(database_url)
    try:
        peers.set_status(store, peer_id, status, "cli")
    except peers.PeerError as exc:
        _fail(exc)
    console.print(f"peer {peer_id}: {status}")


@peer_app.command("suspend")
def peer_suspend(peer_id: str, database_url: DbOption = None) -> None:
    """Suspend a peer: nothing is sent to it, nothing from it accepted."""
    _status(peer_id, "suspended", database_url)


@peer_app.command("resume")
def peer_resume(peer_id: str, database_url: DbOption = None) -> None:
    """Let a suspended peer exchange again."""
    _status(peer_id, "active", database_url)


@peer_app.command("flows")
def peer_flows(peer_id: str, send: Annotated[str, typer.Option()], receive: Annotated[str, typer.Option()],
               database_url: DbOption = None) -> None:  # fmt: skip
    """Change what may flow each way (public, personal, heads)."""
    from regie.federation import peers

    store = _open(database_url)
    try:
        peers.set_flows(store, peer_id, "cli", send=tuple(x for x in send.split(",") if x),
                        receive=tuple(x for x in receive.split(",") if x))  # fmt: skip
    except peers.PeerError as exc:
        _fail(exc)
    console.print(f"peer {peer_id}: send {send}, receive {receive}")


@fed_app.command("identity")
def fed_identity(
    name: Annotated[str | None, typer.Option(help="this régie's name")] = None,
    organisation: Annotated[str | None, typer.Option(help="the organisation that operates it")] = None,
) -> None:
    """Show (or set) this régie's name, operator and key fingerprints: read them to a peer's admin."""
    from regie.federation import identity

    data_dir = load_settings().data_dir
    if name or organisation:
        who = identity.identity(data_dir)
        identity.set_identity(data_dir, name or who.name, organisation or who.organisation)
    who, ring = identity.identity(data_dir), identity.load_or_create(data_dir)
    console.print(f"{who.name} ({who.organisation})", highlight=False)
    for e in ring.published():
        until = "current" if e.not_after is None else f"verifies until {e.not_after}"
        console.print(f"key {e.key_id}  {until}", highlight=False)


@fed_app.command("rotate")
def fed_rotate(overlap_days: Annotated[int, typer.Option(help="days the old key still verifies")] = 30) -> None:
    """A new signing key, endorsed by the old one, which keeps verifying for OVERLAP_DAYS."""
    from regie.federation import identity

    ring = identity.rotate(load_settings().data_dir, overlap_days=overlap_days)
    console.print(f"new key {ring.current.key_id}", highlight=False)


@fed_app.command("subscribe")
def fed_subscribe(peer_id: str, dataset: str, database_url: DbOption = None) -> None:
    """Subscribe to one dataset of a peer's catalogue (see `regie federation catalogue`)."""
    from regie.federation import agreements, client
    from regie.store import federation as rows

    store = _open(database_url)
    p = rows.peer(store, peer_id)
    if p is None:
        _fail(ValueError(f"no peer {peer_id}"))
    try:  # the policy it is offered under is kept: the inbox checks each message's purpose against it
        answer = agreements.subscribe(store, _ring(), p, dataset, actor="cli")
    except (client.PeerRefused, client.PeerUnreachable, agreements.NotOffered) as exc:
        _fail(exc)
    console.print(f"subscribed to {answer['dataset']} of {peer_id}", highlight=False)


@fed_app.command("agreements")
def fed_agreements(
    peer_id: Annotated[str | None, typer.Argument(help="one peer (default: every peer)")] = None,
    renew: Annotated[bool, typer.Option("--renew", help="subscribe again where no policy is agreed")] = False,
    database_url: DbOption = None,
) -> None:
    """What this régie agreed to receive from each peer, and what a peer sends without an agreed policy (a
    subscription older than the policies kept; its messages are refused until subscribed again: --renew).
    One tab-separated line per dataset: peer, dataset, state; exit 1 while one has no agreed policy."""
    from regie.federation import agreements, client
    from regie.store import federation as rows

    store = _open(database_url)
    left = 0
    for p in rows.peers(store):
        if peer_id and p.id != peer_id:
            continue
        for dataset in sorted(agreements.agreed(store, p.id)):
            typer.echo(f"{p.id}\t{dataset}\tagreed")
        for dataset in agreements.unagreed(store, p.id):
            if renew:
                try:
                    agreements.subscribe(store, _ring(), p, dataset, actor="cli")
                    typer.echo(f"{p.id}\t{dataset}\tagreed again")
                    continue
                except (client.PeerRefused, client.PeerUnreachable, agreements.NotOffered) as exc:
                    typer.echo(f"{p.id}\t{dataset}\tnot renewed: {exc}")
            else:
                typer.echo(f"{p.id}\t{dataset}\tno agreed policy: refused until renewed (--renew)")
            left += 1
    if left:
        raise typer.Exit(1)


@fed_app.command("catalogue")
def fed_catalogue(peer_id: str, database_url: DbOption = None) -> None:
    """The DCAT catalogue a peer offers this régie (JSON-LD)."""
    from regie.federation import client, peers
    from regie.store import federation as rows

    store = _open(database_url)
    p = rows.peer(store, peer_id)
    if p is None:
        _fail(ValueError(f"no peer {peer_id}"))
    try:
        doc = client.call("GET", p.url + "/federation/catalogue", _ring(), peers.key_lookup(p)).json()
    except (client.PeerRefused, client.PeerUnreachable) as exc:
        _fail(exc)
    console.print_json(json.dumps(doc))


@fed_app.command("push")
def fed_push(
    force: Annotated[bool, typer.Option("--force", help="try now, whatever the backoff says")] = False,
    database_url: DbOption = None,
) -> None:
    """Queue what is new for subscribers, then deliver the outbox (in order, once); `regie serve` does it too."""
    from regie.federation import courier

    store = _open(database_url)
    queued = courier.produce(store)
    done = courier.deliver(store, _ring(), _base(), force=force)
    console.print(f"queued {queued}; delivered " + (", ".join(f"{k}: {v}" for k, v in done.items()) or "nothing"))


@fed_app.command("witness")
def fed_witness(peer_id: Annotated[str | None, typer.Argument()] = None, database_url: DbOption = None) -> None:
    """Fetch, check and countersign peers' signed access-log heads; exit 1 if one was rewritten."""
    from regie.federation import client, witness
    from regie.store import federation as rows

    store = _open(database_url)
    bad = False
    for p in rows.peers(store):
        if p.status != "active" or (peer_id and p.id != peer_id) or "heads" not in p.receive:
            continue
        try:
            w = witness.witness(store, _ring(), p)
            console.print(f"{p.id}: head at {w.size} entries witnessed", highlight=False)
        except witness.LogRewritten as exc:
            bad = True
            console.print(f"[bold red]{p.id}: {exc}[/]", highlight=False)
        except (client.PeerRefused, client.PeerUnreachable) as exc:
            console.print(f"{p.id}: not reached ({exc})", highlight=False)
    if bad:
        raise typer.Exit(1)


@fed_app.command("outbox")
def fed_outbox(database_url: DbOption = None) -> None:
    """Messages per peer and state (pending, delivered, cancelled), and the last error."""
    from collections import Counter

    from regie.store import federation as rows

    store = _open(database_url)
    out = rows.outbox(store)
    for (peer, state), n in sorted(Counter((m.peer_id, m.state) for m in out).items()):
        console.print(f"{peer}\t{state}\t{n}", highlight=False)


@fed_app.command("duties")
def fed_duties(database_url: DbOption = None) -> None:
    """Delete what was received under a policy whose use has ended (the ODRL duty to delete)."""
    from regie.federation import inbox

    console.print(f"deleted {inbox.carry_out_duties(_open(database_url))} received datum(s)")


def _emoncms_key() -> str:
    """The emoncms API key: from EMONCMS_APIKEY or typed (never an option: it would show in the process list)."""
    import os

    return os.environ.get("EMONCMS_APIKEY") or typer.prompt("emoncms API key", hide_input=True)


@fed_app.command("emoncms-pull")
def fed_emoncms_pull(
    server: Annotated[str, typer.Argument(help="the emoncms server, e.g. https://emoncms.school.fr")],
    feed: Annotated[int, typer.Option(help="the emoncms feed id")],
    series: Annotated[str, typer.Option(help="the regie series it fills")],
    start: Annotated[str, typer.Option("--from", help="first day, YYYY-MM-DD (UTC)")],
    until: Annotated[str, typer.Option(help="day after the last, YYYY-MM-DD (UTC)")],
    interval: Annotated[int, typer.Option(help="seconds between values")] = 600,
    database_url: DbOption = None,
) -> None:
    """Copy an emoncms feed into a series through emoncms's feed API (written as the shell's admin, logged)."""
    from datetime import UTC, datetime

    from regie.federation import emoncms
    from regie.governance import writes

    a, b = (int(datetime.fromisoformat(d).replace(tzinfo=UTC).timestamp()) for d in (start, until))
    try:
        n = emoncms.pull(_open(database_url), writes.CLI, server, _emoncms_key(), feed_id=feed, series_id=series,
                         start=a, end=b, interval=interval)  # fmt: skip
    except (emoncms.EmoncmsError, writes.WriteDenied, ValueError) as exc:
        _fail(exc)
    console.print(f"{n} readings written to {series}")


@fed_app.command("emoncms-push")
def fed_emoncms_push(
    server: Annotated[str, typer.Argument(help="the emoncms server")],
    series: Annotated[str, typer.Option(help="series ids, comma-separated (open series only: no one's data)")],
    start: Annotated[str, typer.Option("--from", help="first day, YYYY-MM-DD (UTC)")],
    until: Annotated[str, typer.Option(help="day after the last, YYYY-MM-DD (UTC)")],
    node: Annotated[str, typer.Option(help="the emoncms node the inputs appear under")] = "regie",
    database_url: DbOption = None,
) -> None:
    """Send open series to emoncms inputs <node>/<series id> through /input/bulk.json."""
    from datetime import UTC, datetime

    from regie.federation import emoncms

    a, b = (int(datetime.fromisoformat(d).replace(tzinfo=UTC).timestamp()) for d in (start, until))
    try:
        n = emoncms.push(_open(database_url), server, _emoncms_key(), node=node,
                         series_ids=[s for s in series.split(",") if s], start=a, end=b)  # fmt: skip
    except (emoncms.EmoncmsError, ValueError) as exc:
        _fail(exc)
    console.print(f"{n} rows sent to {server}")
