"""Marking user-facing text for translation without depending on the web layer.

msgids are English; the shells translate them (web/i18n.py) where they are shown, so a
pure module can name a message without knowing who reads it or in which language.
"""

from __future__ import annotations


def N_(message: str) -> str:
    """Mark a string for extraction; it is translated where it is shown."""
    return message
