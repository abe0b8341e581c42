"""How a sender run behaves, and what it reports."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from mezame.cadence.rules import CadencePolicy


@dataclass(frozen=True)
class SendOptions:
    max_attempts: int = 5
    retry_base_seconds: float = 60.0
    page_size: int = 500
    # Wait in the run for sends whose retry is due later (else leave them for the next run).
    wait_for_retries: bool = True
    heartbeat_seconds: float = 2.0
    # A lease whose holder shows no heartbeat this long is taken over.
    stale_after_seconds: float = 60.0
    status_check_seconds: float = 0.5
    # A mark waits this long for others to share its commit; an outcome at most
    # outcome_delay_seconds (what a crash can leave `unknown` beyond the bodies in flight).
    # 0 still batches: the marks of every worker woken in the same loop pass share a
    # commit, and those that arrive while it runs share the next. Any sleep here holds
    # every connection in the middle of DATA (1 ms cost a third of the send rate).
    commit_delay_seconds: float = 0.0
    outcome_delay_seconds: float = 0.02
    max_outage_backoff_seconds: float = 30.0
    # The contact policy checked again at send time (cap, interval, send windows); the
    # shells pass the saved one. None: the audience freeze was the only check.
    cadence: CadencePolicy | None = None


@dataclass
class SendReport:
    campaign_id: int
    sent: int = 0
    failed: int = 0
    skipped: int = 0
    retried: int = 0
    # Found `sending` from a crashed run: maybe delivered, never re-sent.
    recovered_unknown: int = 0
    unknown: int = 0
    remaining: int = 0
    status: str = ""
    # Stopped at the edge of the send window: the rest goes out from this moment.
    waiting_until: datetime | None = None
