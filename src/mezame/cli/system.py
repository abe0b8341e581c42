"""Set-up and running: init, users, tokens, serve, worker."""

from __future__ import annotations

from typing import Annotated
from zoneinfo import ZoneInfo

import typer
from rich.table import Table

from mezame.accounts import service as accounts
from mezame.cli.app import app, console, engine, err_console, unit_of_work
from mezame.config import get_settings
from mezame.db import migrate
from mezame.dormancy.priority import format_day
from mezame.vocabulary import Role

user_app = typer.Typer(help="Users and their roles.", no_args_is_help=True)
token_app = typer.Typer(help="API tokens for integrations.", no_args_is_help=True)
app.add_typer(user_app, name="user")
app.add_typer(token_app, name="token")


@app.command()
def init() -> None:
    """Create the database, or upgrade it to the current schema."""
    eng = engine()
    migrate(eng)
    eng.dispose()
    console.print(f"[green]database ready[/green] ({eng.url.render_as_string(hide_password=True)})")


@user_app.command("add")
def user_add(
    email: Annotated[str, typer.Argument(help="Login email.")],
    role: Annotated[Role, typer.Option(help="admin, marketing or sales.")] = Role.MARKETING,
    name: Annotated[str, typer.Option(help="Display name.")] = "",
    password: Annotated[
        str, typer.Option(prompt=True, hide_input=True, confirmation_prompt=True)
    ] = "",
    locale: Annotated[str, typer.Option(help="ja or en.")] = "ja",
) -> None:
    """Add a user who can log in to the web UI."""
    with unit_of_work() as session:
        user = accounts.create_user(
            session, email=email, name=name or email, role=role, password=password, locale=locale
        )
    console.print(f"user [bold]{user.email}[/bold] added with role {user.role}")


@user_app.command("list")
def user_list() -> None:
    """Everyone with an account: role, whether they can log in, when they last did."""
    tz = ZoneInfo(get_settings().timezone)
    with unit_of_work() as session:
        users = accounts.list_users(session)
    table = Table(title=f"ユーザー ({len(users):,} 人)")
    for column in ("メールアドレス", "名前", "ロール", "有効", "最終ログイン"):
        table.add_column(column)
    for user in users:
        last_login = user.last_login_at
        table.add_row(
            user.email,
            user.name,
            user.role,
            "有効" if user.is_active else "無効",
            format_day(last_login.astimezone(tz).date(), "ja") if last_login else "—",
        )
    console.print(table)


@user_app.command("password")
def user_password(
    email: Annotated[str, typer.Argument(help="The user's login email.")],
    password: Annotated[
        str | None, typer.Option(help="The new password; asked twice, hidden, when omitted.")
    ] = None,
) -> None:
    """Set a new password; every session of the user ends."""
    with unit_of_work() as session:
        accounts.user_by_email(session, email)  # an unknown email is said before any prompt
    if password is None:
        password = typer.prompt("New password", hide_input=True, confirmation_prompt=True)
    with unit_of_work() as session:
        user = accounts.user_by_email(session, email)
        accounts.set_password(session, user, password)
    console.print(f"password of [bold]{user.email}[/bold] changed; their sessions ended")


@user_app.command("deactivate")
def user_deactivate(email: Annotated[str, typer.Argument(help="The user's login email.")]) -> None:
    """Stop a user from logging in, at once: their sessions end and their API tokens stop."""
    with unit_of_work() as session:
        user = accounts.user_by_email(session, email)
        accounts.set_active(session, user, False)
    console.print(f"user [bold]{user.email}[/bold] deactivated")


@user_app.command("activate")
def user_activate(email: Annotated[str, typer.Argument(help="The user's login email.")]) -> None:
    """Let a deactivated user log in again."""
    with unit_of_work() as session:
        user = accounts.user_by_email(session, email)
        accounts.set_active(session, user, True)
    console.print(f"user [bold]{user.email}[/bold] activated")


@user_app.command("role")
def user_role(
    email: Annotated[str, typer.Argument(help="The user's login email.")],
    role: Annotated[Role, typer.Argument(help="admin, marketing or sales.")],
) -> None:
    """Give a user another role; they log in again under it."""
    with unit_of_work() as session:
        user = accounts.user_by_email(session, email)
        accounts.set_role(session, user, role)
    console.print(f"user [bold]{user.email}[/bold] now has role {user.role}")


@token_app.command("create")
def token_create(
    email: Annotated[str, typer.Argument(help="The user the token acts as.")],
    name: Annotated[str, typer.Option(help="What the token is for.")] = "integration",
) -> None:
    """Issue an API token (shown once) for a CRM, form tool or webinar tool."""
    from sqlalchemy import select

    from mezame.models import User

    with unit_of_work() as session:
        user = session.scalar(select(User).where(User.email == email.strip().lower()))
        if user is None:
            err_console.print(f"[red]error:[/red] no user {email}")
            raise typer.Exit(2)
        token = accounts.create_api_token(session, user_id=user.id, name=name)
    console.print(token)


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port.")] = 8000,
    worker: Annotated[
        bool, typer.Option(help="Run the embedded queue consumer in this process.")
    ] = True,
) -> None:
    """Serve the web UI and the REST API (and, embedded, the task queue)."""
    from mezame.cli.serving import serve_forever

    serve_forever(host=host, port=port, with_worker=worker)


@app.command("worker")
def worker_command(
    workers: Annotated[int, typer.Option(help="Worker threads.")] = 1,
) -> None:
    """Run the task-queue consumer on its own (for Redis deployments or a separate process)."""
    from mezame.queue import get_huey
    from mezame.worker import make_consumer

    make_consumer(get_huey(), workers=workers).run()
