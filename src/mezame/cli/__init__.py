"""The `mezame` command: Typer commands over the same service functions as the API and UI."""

from __future__ import annotations

import mezame.cli.cadence  # registers commands
import mezame.cli.campaign_stats  # registers commands
import mezame.cli.cleaning  # registers commands
import mezame.cli.demo  # registers commands
import mezame.cli.dormancy  # registers commands
import mezame.cli.importing  # registers commands
import mezame.cli.mail  # registers commands
import mezame.cli.model  # registers commands
import mezame.cli.quality  # registers commands
import mezame.cli.segments  # registers commands
import mezame.cli.templates  # noqa: F401  (registers commands)
from mezame.cli import system  # noqa: F401  (registers commands)
from mezame.cli.app import app

__all__ = ["app"]
