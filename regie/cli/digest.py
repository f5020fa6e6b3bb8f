"""``regie digest``: the monthly digest to the members who asked for it (``regie.services.digest``)."""

from __future__ import annotations

from typing import Annotated

import typer

from regie.cli._app import DbOption, app, command_store, console, load_settings


@app.command()
def digest(
    month: Annotated[str, typer.Option(help="the month, YYYY-MM (days in the territory's zone)")],
    force: Annotated[bool, typer.Option(help="send again to members whose digest of that month was sent")] = False,
    database_url: DbOption = None,
) -> None:
    """E-mail each member who opted in on /me their figures of the month (consumption, local share, cost, the
    village's rates) in their language, with a link that stops the digest; each send is logged. Uses
    REGIE_SMTP_* and REGIE_PUBLIC_URL (the address in the links)."""
    from regie.mail import server_from_settings
    from regie.services import digest as service
    from regie.web import i18n

    settings = load_settings()
    server = server_from_settings(settings)
    base_url = settings.public_url or f"http://{settings.host}:{settings.port}"
    with command_store(database_url, ValueError, LookupError) as store:
        outcomes = service.send_digests(store, server, month, base_url=base_url, force=force,
                                        translate=lambda lang: i18n.translations(lang).gettext)  # fmt: skip
    counts: dict[str, int] = {}
    for o in outcomes:
        counts[o.outcome] = counts.get(o.outcome, 0) + 1
        console.print(f"{o.username}: {o.outcome}{f' ({o.detail})' if o.detail else ''}", markup=False,
                      highlight=False)  # fmt: skip
    summary = ", ".join(f"{n} {k}" for k, n in sorted(counts.items())) or "no member asked for the digest"
    console.print(f"digest of {month}: {summary}")
    if server is None and outcomes:
        console.print("no SMTP server configured (REGIE_SMTP_HOST): nothing was sent")
    if counts.get("failed"):
        raise typer.Exit(69)  # EX_UNAVAILABLE: the SMTP server refused or was unreachable for some
