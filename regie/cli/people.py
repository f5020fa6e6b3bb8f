"""People commands on ``regie user``: invite by e-mail, hand over a password-reset link, set an account's
e-mail, turn someone's second factor off (docs/people.md)."""

from __future__ import annotations

from typing import Annotated

import typer

from regie.cli._app import DbOption, command_store, console, load_settings
from regie.cli.governance import user_app

BaseUrlOption = Annotated[
    str | None, typer.Option(help="address the link starts with (default: REGIE_PUBLIC_URL, else http://HOST:PORT)")
]


def _base_url(given: str | None) -> str:
    settings = load_settings()
    return (given or settings.public_url or f"http://{settings.host}:{settings.port}").rstrip("/")


def _handed(delivery, what: str, until: int) -> None:
    from regie.cli._app import _utc

    if delivery.mailed:
        console.print(f"{what} sent by e-mail (valid until {_utc(until)} UTC)")
        return
    console.print(f"{what} not sent by e-mail ({delivery.problem}): hand this link over privately; it works once, "
                  f"until {_utc(until)} UTC:")  # fmt: skip
    # the link alone on its own line, without rich's wrapping, so it can be copied whole
    typer.echo(delivery.link)


@user_app.command("invite")
def user_invite(
    email: Annotated[str, typer.Option(help="the person's e-mail address")],
    role: Annotated[str, typer.Option(help="member, operator or admin")] = "member",
    holder: Annotated[str | None, typer.Option(help="member: the person or organisation id of the inventory")] = None,
    operator_of: Annotated[str | None, typer.Option(help="operator: the organisation or operation run")] = None,
    username: Annotated[str | None, typer.Option(help="login name (default: made from the address)")] = None,
    territory: Annotated[str | None, typer.Option(help="the territory an admin or operator runs")] = None,
    lang: Annotated[str, typer.Option(help="language of the e-mail: fr or en")] = "fr",
    base_url: BaseUrlOption = None,
    database_url: DbOption = None,
) -> None:
    """Invite someone by e-mail: an account without a password and a one-time link valid 7 days where they choose
    it; the link is printed when the régie sends no mail (REGIE_SMTP_HOST unset)."""
    from regie.governance import invitations

    with command_store(database_url, ValueError) as store:
        invitation = invitations.invite(store, _cli_admin(), email=email, role=role, username=username,
                                        holder_id=holder, operator_of=operator_of, territory_id=territory)  # fmt: skip
    console.print(f"account [bold]{invitation.account.username}[/] ({invitation.account.role.value}) invited")
    delivery = invitations.deliver(load_settings(), invitation, _base_url(base_url), lang)
    _handed(delivery, "invitation", invitation.expires_at)


@user_app.command("reset-link")
def user_reset_link(
    username: Annotated[str, typer.Argument()],
    lang: Annotated[str, typer.Option(help="language of the e-mail: fr or en")] = "fr",
    base_url: BaseUrlOption = None,
    database_url: DbOption = None,
) -> None:
    """A one-time link (1 hour) to choose a new password: mailed to the account's address, else printed."""
    from regie.governance import invitations

    with command_store(database_url, ValueError) as store:
        reset = invitations.reset_link(store, _cli_admin(), username)
    delivery = invitations.deliver_reset(load_settings(), reset, _base_url(base_url), lang)
    _handed(delivery, "reset link", reset.expires_at)


@user_app.command("email")
def user_email(
    username: Annotated[str, typer.Argument()],
    address: Annotated[str, typer.Argument(help="the account's e-mail address (for password resets)")],
    database_url: DbOption = None,
) -> None:
    """Set the e-mail address of an account (where reset links go)."""
    from regie.governance import invitations

    with command_store(database_url, ValueError) as store:
        invitations.set_email(store, _cli_admin(), username, address)
    console.print(f"e-mail of [bold]{username}[/] set")


@user_app.command("two-factor-off")
def user_two_factor_off(username: Annotated[str, typer.Argument()], database_url: DbOption = None) -> None:
    """Turn an account's second factor off (lost phone and recovery codes); it enrols again from /me/two-factor."""
    from regie.governance import accounts, two_factor

    with command_store(database_url, ValueError) as store:
        acct = accounts.get_account(store, username)
        if acct is None:
            raise typer.BadParameter(f"no account {username!r}")
        two_factor.disable(store, acct, _cli_admin())
    console.print(f"two-factor authentication of [bold]{username}[/] is off")


def _cli_admin():
    from regie.governance.accounts import CLI_ADMIN

    return CLI_ADMIN
