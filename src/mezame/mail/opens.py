"""Which open-pixel hits a person caused, and which a machine fetched on their behalf.

Apple Mail Privacy Protection loads every image of every mail through Apple's proxy
soon after delivery, whether or not anyone reads it; security gateways and link
scanners do the same. Counted as opens, they make every campaign look read. A hit is
flagged as a machine open when it carries the proxy's bare user agent, a known
scanner's, or none at all, or arrives within seconds of the hand-over. The flag is a
heuristic: machine opens are shown beside human ones, never silently dropped.
"""

from __future__ import annotations

import re

# Apple's proxy sends exactly this; real mail clients always add platform details.
_BARE_AGENTS = frozenset({"", "mozilla/5.0", "mozilla/5.0 (compatible)"})
_SCANNERS = re.compile(
    r"bot\b|crawler|spider|scanner|preview|prefetch|proofpoint|mimecast|barracuda|"
    r"symantec|trendmicro|fortinet|sophos|python-requests|python-urllib|aiohttp|"
    r"go-http-client|curl/|wget/|java/|okhttp|headlesschrome",
    re.IGNORECASE,
)
# A person does not open a mail within the seconds the relay takes to hand it over.
PREFETCH_SECONDS = 5.0


def is_machine_open(user_agent: str, *, seconds_after_send: float | None) -> bool:
    """True when the hit looks like a proxy or scanner fetching images, not a reader."""
    agent = user_agent.strip()
    if agent.lower() in _BARE_AGENTS or _SCANNERS.search(agent):
        return True
    return seconds_after_send is not None and 0 <= seconds_after_send < PREFETCH_SECONDS
