"""The Typer application and the helpers every command shares."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import typer
from rich.console import Console
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from mezame.config import get_settings
from mezame.db import make_engine, session_scope
from mezame.errors import MezameError

app = typer.Typer(
    name="mezame",
    help="mezame — 休眠顧客の掘り起こし (dormant-customer reactivation).",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
console = Console()
# Errors are never wrapped: a path or a line number split over two lines cannot be grepped.
err_console = Console(stderr=True, soft_wrap=True)

# Exit codes: 0 ok, 1 unexpected failure, 2 bad input (nothing was written).
EXIT_BAD_INPUT = 2


def engine() -> Engine:
    return make_engine(get_settings().database_url)


@contextmanager
def unit_of_work() -> Iterator[Session]:
    """A session that commits when the command succeeds; domain errors exit 2 with their message."""
    eng = engine()
    try:
        with session_scope(eng) as session:
            yield session
    except MezameError as exc:
        err_console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(EXIT_BAD_INPUT) from None
    finally:
        eng.dispose()
