"""The `mezame` command: Typer commands over the same service functions as the API and UI."""

from __future__ import annotations

import mezame.cli.demo  # registers commands
import mezame.cli.importing  # noqa: F401  (registers commands)
from mezame.cli import system  # noqa: F401  (registers commands)
from mezame.cli.app import app

__all__ = ["app"]
