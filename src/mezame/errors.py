"""Domain errors. Shells map them to exit codes and HTTP statuses; the core never knows either."""

from __future__ import annotations


class MezameError(Exception):
    """Base of every error mezame raises on purpose."""


class NotFoundError(MezameError):
    """A record the caller named does not exist."""


class PermissionDeniedError(MezameError):
    """The user's role does not allow the action."""


class InvalidInputError(MezameError):
    """Input that cannot be used as given; the message says what and where."""


class ConflictError(InvalidInputError):
    """The record's state does not allow the action now (a stopped campaign cannot be sent)."""
