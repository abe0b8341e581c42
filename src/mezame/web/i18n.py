"""Message catalogues (ja, en), the locale of a request, and locale-aware dates and amounts.

The catalogues are the .po files under src/mezame/locale/; they are compiled in memory
once per process, so no binary .mo is committed. msgids are English; ja is the default.

Updating them after changing templates or labels (mapping in src/mezame/locale/babel.cfg):

    .venv/bin/pybabel extract -F src/mezame/locale/babel.cfg -o /tmp/messages.pot src/mezame
    .venv/bin/pybabel update -i /tmp/messages.pot -d src/mezame/locale --no-fuzzy-matching

then fill in every empty msgstr of locale/ja/LC_MESSAGES/messages.po
(tests/api/test_web.py fails while one is missing).
"""

from __future__ import annotations

from datetime import date, datetime, tzinfo
from functools import lru_cache
from importlib.resources import files
from io import BytesIO

from babel.dates import format_date, format_time
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

LOCALES = ("ja", "en")
LOCALE_NAMES = {"ja": "日本語", "en": "English"}
# Babel's "long" Japanese date is 2026年11月23日; English reads better as Nov 23, 2026.
_DATE_FORMAT = {"ja": "long", "en": "medium"}


@lru_cache(maxsize=len(LOCALES))
def translations(locale: str) -> Translations:
    """The compiled catalogue for a locale (read from its .po once, then cached)."""
    po_path = files("mezame") / "locale" / locale / "LC_MESSAGES" / "messages.po"
    with po_path.open("rb") as po_file:
        catalog = read_po(po_file, locale=locale)
    mo = BytesIO()
    write_mo(mo, catalog)
    mo.seek(0)
    return Translations(fp=mo)


def choose_locale(*candidates: str | None) -> str:
    """The first supported locale among the candidates (session, user, settings)."""
    for candidate in candidates:
        if candidate in LOCALES:
            return candidate
    return LOCALES[0]


def format_day(value: date | datetime | None, locale: str, tz: tzinfo) -> str:
    """A calendar day: 2026年11月23日 / Nov 23, 2026 (datetimes are shown in `tz`)."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = value.astimezone(tz).date()
    return format_date(value, format=_DATE_FORMAT[locale], locale=locale)


def format_moment(value: datetime | None, locale: str, tz: tzinfo) -> str:
    """A day and a time of day in `tz`: 2026年11月23日 9:05 / Nov 23, 2026 9:05 AM."""
    if value is None:
        return ""
    local = value.astimezone(tz)
    return f"{format_day(local, locale, tz)} {format_time(local, format='short', locale=locale)}"


def format_yen(amount: int | None) -> str:
    """Whole yen with thousands separators: ¥1,234,000."""
    if amount is None:
        return ""
    return f"-¥{-amount:,}" if amount < 0 else f"¥{amount:,}"
