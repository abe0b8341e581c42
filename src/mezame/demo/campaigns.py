"""Campaigns: the monthly four-part newsletter, notices, and webinar invitations."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mezame.demo import lexicon as lx
from mezame.demo.timeline import FEATURE_NAME, Timeline, randint

DAY = 86400
# The price-change notice goes out this many days before the rise.
PRICE_NOTICE_DAYS = 45
DOCUMENT_PAGES = (
    "/documents/service-overview",
    "/documents/price-list",
    "/documents/case-studies",
    "/documents/inventory-dx-guide",
    "/documents/whitepaper-ordering",
)


@dataclass(frozen=True, slots=True)
class Campaign:
    name: str
    day: int
    seconds: int
    links: tuple[str, ...]
    appeal: float  # how much more (or less) than a newsletter people open it
    customers_only: bool = False
    webinar: int | None = None


def _second_tuesday(timeline: Timeline, year: int, month: int) -> int:
    first = timeline.day_of(timeline.start.replace(year=year, month=month, day=1))
    weekday = timeline.on(first).weekday()
    return first + (1 - weekday) % 7 + 7


def webinar_days(timeline: Timeline) -> list[int]:
    """A webinar every thirteen weeks, on a Thursday afternoon."""
    first = 60 + (3 - timeline.on(60).weekday()) % 7
    return list(range(first, timeline.days + 91, 91))


def make_campaigns(rng: np.random.Generator, timeline: Timeline) -> list[Campaign]:
    """Monthly four-part newsletters, the price-rise notice, a release mail, webinar invitations."""
    out: list[Campaign] = []
    y, m = timeline.start.year, timeline.start.month
    n = 0
    while True:
        day = _second_tuesday(timeline, y, m)
        if day >= timeline.days:
            break
        if day >= 0:
            links = (
                lx.BLOG_PAGES[n % len(lx.BLOG_PAGES)],
                lx.CASE_PAGES[n % len(lx.CASE_PAGES)],
                lx.FEATURE_PAGES[n % 4],
                DOCUMENT_PAGES[n % len(DOCUMENT_PAGES)],
                lx.CONTACT_PAGE,
            )
            seconds = day * DAY + 10 * 3600 + randint(rng, 0, 600)
            out.append(Campaign(f"{y}年{m}月ニュースレター", day, seconds, links, 1.0))
            n += 1
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    rise = timeline.on(timeline.price_rise)
    notice = timeline.price_rise - PRICE_NOTICE_DAYS
    out.append(
        Campaign(
            f"価格改定のお知らせ（{rise.year}年{rise.month}月）",
            notice,
            notice * DAY + 11 * 3600,
            ("/news/price-revision", lx.PRICING_PAGE),
            1.6,
            customers_only=True,
        )
    )
    release = timeline.feature_release + 7
    out.append(
        Campaign(
            f"新機能リリース：{FEATURE_NAME}",
            release,
            release * DAY + 10 * 3600,
            ("/features/inventory-api", "/cases/manufacturing-yamagata"),
            1.2,
        )
    )
    for w, held in enumerate(webinar_days(timeline)):
        invite = held - 21
        if 0 <= invite < timeline.days:
            title = lx.WEBINARS[w % len(lx.WEBINARS)]
            out.append(
                Campaign(
                    f"【ウェビナーご案内】{title}",
                    invite,
                    invite * DAY + 15 * 3600,
                    (f"/seminar/{w + 1:02d}",),
                    0.8,
                    webinar=w,
                )
            )
    return sorted(out, key=lambda c: c.seconds)
