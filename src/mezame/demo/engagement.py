"""Engagement events: newsletters and what people did with them, site visits, downloads, webinars.

The mail log is one contacts × campaigns matrix (NumPy): who was sent what,
opened, clicked, bounced or unsubscribed. Interest follows each contact's
state — an active customer or an open deal reads more, a dormant contact
fades and most go quiet — except a planted minority of dormant contacts who
wake up in the last weeks: opens, then clicks, then the pricing page.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mezame.demo import lexicon as lx
from mezame.demo.campaigns import DAY, DOCUMENT_PAGES, Campaign, make_campaigns, webinar_days
from mezame.demo.eventlog import (
    BoolArray,
    Columns,
    EventLog,
    IntArray,
    Lookup,
    PayloadBook,
    Sink,
)
from mezame.demo.lifecycle import Account
from mezame.demo.people import Person
from mezame.demo.sales import DealRecord
from mezame.demo.timeline import Timeline, randint

NEVER = 10**6  # a day index after every other
WARM_WINDOW_DAYS = 60
QUIET_BEFORE_WARM_DAYS = 180


@dataclass(frozen=True, slots=True)
class _States:
    """Per firm: when it was a customer, when it was in a deal, and when it went dormant."""

    customer_from: IntArray
    customer_to: IntArray
    deal_from: IntArray
    deal_to: IntArray
    dormant_from: IntArray


def firm_states(timeline: Timeline, accounts: list[Account], deals: list[DealRecord]) -> _States:
    n = len(accounts)
    cf, ct = np.full(n, NEVER), np.full(n, NEVER)
    df, dt, dorm = np.full(n, NEVER), np.full(n, -1), np.full(n, NEVER)
    for d in deals:
        df[d.firm] = min(df[d.firm], d.opened)
        dt[d.firm] = max(dt[d.firm], d.closed if d.closed is not None else timeline.days)
    for acc in accounts:
        i = acc.firm
        if acc.is_customer and acc.acquired_day is not None:
            cf[i] = acc.acquired_day
            ct[i] = acc.churn_day if acc.churn_day is not None else NEVER
            if acc.churn_day is not None:
                dorm[i] = acc.churn_day
        elif acc.kind == "prospect" and dt[i] < timeline.days:
            dorm[i] = dt[i]
        elif acc.kind == "contact_only":
            dorm[i] = (acc.lead_day or 0) + 60
    return _States(cf, ct, df, dt, dorm)


@dataclass(frozen=True, slots=True)
class _Audience:
    """The contacts the MA tool may mail, as arrays aligned with `people`."""

    people: list[Person]
    index: IntArray
    firm: IntArray
    start: IntArray  # first day they may be mailed
    dead: IntArray  # first day their address bounces
    machine: BoolArray


def _audience(people: list[Person]) -> _Audience:
    mailable = [
        p for p in people if p.email is not None and p.consent != "none" and p.duplicate_of is None
    ]
    return _Audience(
        people=mailable,
        index=np.array([p.index for p in mailable], dtype=np.int64),
        firm=np.array([p.firm for p in mailable], dtype=np.int64),
        start=np.array([p.acquired_day or 0 for p in mailable], dtype=np.int64),
        dead=np.array([NEVER if p.dead_from is None else p.dead_from for p in mailable]),
        machine=np.array([p.machine_opener for p in mailable], dtype=np.bool_),
    )


def make_events(
    rng: np.random.Generator,
    timeline: Timeline,
    accounts: list[Account],
    people: list[Person],
    deals: list[DealRecord],
    dormant: dict[int, str],
) -> EventLog:
    """Every engagement event of the world, and which dormant contacts were planted to wake up."""
    campaigns = make_campaigns(rng, timeline)
    states = firm_states(timeline, accounts, deals)
    sink = Sink(rng, timeline, Columns(), Lookup(), Lookup(), PayloadBook())
    audience = _audience(people)
    # Each person browses with one cookie (visitor id = person index); anonymous visitors follow.
    n_anonymous = len(accounts)
    visitors = [f"v{int(x):012x}" for x in rng.integers(0, 2**48, size=len(people) + n_anonymous)]
    wake_at = _choose_waking(rng, timeline, audience, dormant, campaigns)
    open_time, clicked = _mail(sink, campaigns, audience, states, wake_at)
    _clicks(sink, campaigns, audience, open_time, clicked, wake_at)
    _organic_visits(sink, states, audience)
    _anonymous_visits(sink, first_visitor=len(people), count=n_anonymous)
    _first_touches(sink, people, deals)
    warm_from: dict[int, int] = {}
    for r, c in wake_at.items():
        person = audience.people[r].index
        warm_from[person] = int(open_time[r, c])
        _wake_up(sink, person, warm_from[person])

    cols = sink.cols
    seconds = cols.column("seconds")
    keep = (seconds >= 0) & (seconds < timeline.days * DAY)
    columns = {name: cols.column(name)[keep] for name in Columns.names}
    order = np.lexsort((columns["type"], columns["person"], columns["seconds"]))
    columns = {name: values[order] for name, values in columns.items()}
    return EventLog(
        seconds=columns["seconds"],
        person=columns["person"],
        type=columns["type"],
        campaign=columns["campaign"],
        url=columns["url"],
        document=columns["document"],
        webinar=columns["webinar"],
        watch_seconds=columns["watch_seconds"],
        payload=columns["payload"],
        visitor=columns["visitor"],
        campaigns=campaigns,
        urls=sink.urls.items,
        documents=sink.documents.items,
        webinars=[lx.WEBINARS[w % len(lx.WEBINARS)] for w in range(len(webinar_days(timeline)))],
        payloads=sink.payloads.items,
        visitors=visitors,
        warming=sorted(audience.people[r].index for r in wake_at),
        warm_from=warm_from,
    )


def _choose_waking(
    rng: np.random.Generator,
    timeline: Timeline,
    audience: _Audience,
    dormant: dict[int, str],
    campaigns: list[Campaign],
) -> dict[int, int]:
    """Audience row → the recent newsletter that wakes them: ~6 % of mailable dormant contacts."""
    last_day = timeline.days - 1
    candidates = [
        i
        for i, p in enumerate(audience.people)
        if p.firm in dormant
        and not p.machine_opener
        and audience.dead[i] > last_day
        and audience.start[i] <= last_day - 120
    ]
    n_warm = min(len(candidates), max(3, round(len(candidates) * 0.06)))
    rows = (
        sorted(int(x) for x in rng.choice(candidates, size=n_warm, replace=False)) if n_warm else []
    )
    recent = [c for c, camp in enumerate(campaigns) if camp.day >= last_day - WARM_WINDOW_DAYS + 7]
    newsletters = [c for c in recent if "ニュースレター" in campaigns[c].name] or recent
    return {r: newsletters[randint(rng, 0, len(newsletters))] for r in rows}


def _mail(
    sink: Sink,
    campaigns: list[Campaign],
    audience: _Audience,
    states: _States,
    wake_at: dict[int, int],
) -> tuple[IntArray, BoolArray]:
    """Sends, bounces, opens (human and machine) and unsubscribes; returns open times and clicks."""
    rng, last_day = sink.rng, sink.timeline.days - 1
    n, k = len(audience.people), len(campaigns)
    send_day = np.array([c.day for c in campaigns], dtype=np.int64)
    send_sec = np.array([c.seconds for c in campaigns], dtype=np.int64)
    appeal = np.array([c.appeal for c in campaigns])
    customers_only = np.array([c.customers_only for c in campaigns], dtype=np.bool_)
    t = send_day[None, :]
    f = audience.firm[:, None]
    active = (states.customer_from[f] <= t) & (t < states.customer_to[f])
    dealing = (states.deal_from[f] <= t) & (t <= states.deal_to[f])
    since = t - states.dormant_from[f]
    silent = rng.random(n) < 0.5  # most dormant contacts simply stop reading
    fade = 0.1 + 0.9 * np.exp(-np.maximum(since, 0) / 120.0)
    fade = fade * np.where(silent, 0.08, 1.0)[:, None]
    interest = np.select([active, dealing, since >= 0], [1.3, 1.5, fade], 0.8)
    reach = rng.beta(2.0, 5.0, size=n)
    clickiness = rng.beta(1.2, 8.0, size=n)
    p_open = np.clip(reach[:, None] * interest * appeal[None, :], 0.0, 0.95)
    p_click = np.clip(clickiness[:, None] * np.minimum(interest, 1.5), 0.0, 0.9)
    u_open, u_click, u_unsub = rng.random((n, k)), rng.random((n, k)), rng.random((n, k))
    quiet_from = last_day - QUIET_BEFORE_WARM_DAYS
    for r, c in wake_at.items():  # silent for months, then opens every mail from the waking one
        p_open[r, (send_day >= quiet_from) & (np.arange(k) < c)] = 0.0
        p_open[r, c:] = 1.0
        u_click[r, c] = 0.0
        u_unsub[r, :] = 1.0

    machine = audience.machine[:, None]
    col = np.arange(k)[None, :]
    eligible = (audience.start[:, None] <= t) & (~customers_only[None, :] | active)
    bounce_try = eligible & (audience.dead[:, None] <= t)
    first_bounce = np.where(bounce_try.any(axis=1), bounce_try.argmax(axis=1), k)[:, None]
    open_try = eligible & ~bounce_try & (u_open < p_open) & ~machine
    unsub_try = open_try & (u_unsub < 0.01)
    first_unsub = np.where(unsub_try.any(axis=1), unsub_try.argmax(axis=1), k)[:, None]
    # A hard bounce or an unsubscribe ends the mailing to that address.
    sent = eligible & (col <= first_bounce) & (col <= first_unsub)
    bounced = sent & (col == first_bounce)
    delivered = sent & ~bounced
    opened = delivered & (u_open < p_open) & ~machine

    cols, idx = sink.cols, audience.index
    rows, cs = _cells(sent)
    sent_time = np.zeros((n, k), dtype=np.int64)
    sent_time[rows, cs] = send_sec[cs] + (rows % 600) + rng.integers(0, 300, size=len(rows))
    cols.add(sent_time[rows, cs], idx[rows], "mail_sent", campaign=cs)
    rows, cs = _cells(bounced)
    bounce_at = sent_time[rows, cs] + rng.integers(5, 90, size=len(rows))
    cols.add(bounce_at, idx[rows], "mail_bounced", campaign=cs, payload=sink.payloads.bounce())
    # Privacy proxies fetch the pixel at delivery: an "open" seconds after every send.
    rows, cs = _cells(delivered & machine)
    proxy_at = sent_time[rows, cs] + rng.integers(1, 40, size=len(rows))
    proxy = sink.payloads.user_agent(lx.MACHINE_OPEN_USER_AGENT)
    cols.add(proxy_at, idx[rows], "mail_opened", campaign=cs, payload=proxy)
    rows, cs = _cells(opened)
    delay = np.minimum(rng.lognormal(np.log(3 * 3600), 1.3, size=len(rows)), 10 * DAY)
    open_time = np.zeros((n, k), dtype=np.int64)
    open_time[rows, cs] = sent_time[rows, cs] + 60 + delay.astype(np.int64)
    agents = np.array([sink.payloads.user_agent(ua) for ua in lx.OPEN_USER_AGENTS])
    agent = agents[rng.integers(0, len(agents), size=len(rows))]
    cols.add(open_time[rows, cs], idx[rows], "mail_opened", campaign=cs, payload=agent)
    rows, cs = _cells(opened & (col == first_unsub))
    unsub_at = open_time[rows, cs] + rng.integers(20, 300, size=len(rows))
    cols.add(unsub_at, idx[rows], "mail_unsubscribed", campaign=cs)
    return open_time, opened & (u_click < p_click)


def _clicks(
    sink: Sink,
    campaigns: list[Campaign],
    audience: _Audience,
    open_time: IntArray,
    clicked: BoolArray,
    wake_at: dict[int, int],
) -> None:
    """A click lands on the site: the click, the page view, and a download or a registration."""
    rng = sink.rng
    rows, cs = _cells(clicked)
    pick = rng.integers(0, 1 << 30, size=len(rows))
    link = np.array(
        [
            sink.urls(campaigns[c].links[j % len(campaigns[c].links)])
            for c, j in zip(cs.tolist(), pick.tolist(), strict=True)
        ],
        dtype=np.int64,
    )
    waking = np.array(
        [wake_at.get(r) == c for r, c in zip(rows.tolist(), cs.tolist(), strict=True)]
    )
    if waking.any():  # the waking click goes to what is new, not to the blog
        link[waking] = sink.urls(lx.FEATURE_PAGES[4])
    click_at = open_time[rows, cs] + rng.integers(5, 600, size=len(rows))
    person = audience.index[rows]
    sink.cols.add(click_at, person, "mail_clicked", campaign=cs, url=link, visitor=person)
    view_at = click_at + rng.integers(2, 15, size=len(rows))
    sink.cols.add(view_at, person, "site_visit", url=link, visitor=person)
    for i, c in enumerate(cs.tolist()):
        page = sink.urls.items[int(link[i])]
        who = int(person[i])
        if page in DOCUMENT_PAGES:
            sink.download(int(click_at[i]) + 40, who, who, DOCUMENT_PAGES.index(page))
        webinar = campaigns[c].webinar
        if webinar is not None:
            sink.webinar(who, webinar, int(click_at[i]) + 120)


def _cells(mask: BoolArray) -> tuple[IntArray, IntArray]:
    rows, cols = np.nonzero(mask)
    return rows.astype(np.int64), cols.astype(np.int64)


def _organic_visits(sink: Sink, states: _States, audience: _Audience) -> None:
    """Pages people browse on their own: support pages as customers, pricing while in a deal."""
    rng, days = sink.rng, sink.timeline.days
    person, firm = audience.index, audience.firm
    windows = (
        (states.customer_from[firm], states.customer_to[firm], 0.25, lx.SUPPORT_PAGES),
        (
            states.deal_from[firm],
            states.deal_to[firm] + 1,
            1.2,
            (lx.PRICING_PAGE, *lx.FEATURE_PAGES[:4], *lx.CASE_PAGES),
        ),
    )
    for opens, closes, per_month, pages in windows:
        low = np.maximum(opens, audience.start)
        high = np.minimum(closes, days)
        length = np.maximum(high - low, 0)
        counts = rng.poisson(per_month * length / 30.0)
        who = np.repeat(np.arange(len(person)), counts)
        at = (low[who] + rng.random(len(who)) * length[who]) * DAY
        at = at.astype(np.int64) + rng.integers(8 * 3600, 20 * 3600, size=len(who))
        page_ids = np.array([sink.urls(p) for p in pages], dtype=np.int64)
        url = page_ids[rng.integers(0, len(pages), size=len(who))]
        sink.cols.add(at, person[who], "site_visit", url=url, visitor=person[who])


def _anonymous_visits(sink: Sink, *, first_visitor: int, count: int) -> None:
    """Visitors no tracked link has identified yet."""
    rng = sink.rng
    pages = (lx.PRICING_PAGE, *lx.FEATURE_PAGES, *lx.CASE_PAGES, *lx.BLOG_PAGES, "/")
    page_ids = np.array([sink.urls(p) for p in pages], dtype=np.int64)
    visits = 1 + rng.poisson(1.5, size=count)
    who = np.repeat(np.arange(count), visits)
    at = rng.integers(0, sink.timeline.days * DAY, size=len(who))
    url = page_ids[rng.integers(0, len(pages), size=len(who))]
    sink.cols.add(at, -1, "site_visit", url=url, visitor=first_visitor + who)


def _first_touches(sink: Sink, people: list[Person], deals: list[DealRecord]) -> None:
    """How form leads arrived (download, inquiry, webinar) and demo requests that opened deals."""
    rng, timeline = sink.rng, sink.timeline
    held = webinar_days(timeline)
    for p in people:
        if p.email is None or p.duplicate_of is not None or p.acquired_day is None:
            continue
        at = p.acquired_day * DAY + randint(rng, 9 * 3600, 22 * 3600)
        if p.source == "資料請求":
            sink.download(at, p.index, p.index, randint(rng, 0, len(DOCUMENT_PAGES)))
        elif p.source == "問い合わせ":
            message = lx.INQUIRY_MESSAGES[randint(rng, 0, len(lx.INQUIRY_MESSAGES))]
            payload = sink.payloads.add({"form": "お問い合わせ", "message": message})
            sink.one(at, p.index, "inquiry", url=sink.urls(lx.CONTACT_PAGE), payload=payload)
        elif p.source == "ウェビナー":
            upcoming = [w for w, day in enumerate(held) if day >= p.acquired_day]
            if upcoming:
                sink.webinar(p.index, upcoming[0], at)
    emails = {p.index for p in people if p.email is not None and p.duplicate_of is None}
    for d in deals:
        if d.person is not None and d.person in emails and rng.random() < 0.2:
            at = d.opened * DAY - randint(rng, 1, 5) * DAY + 10 * 3600
            sink.one(at, d.person, "demo_request", url=sink.urls("/demo"), visitor=d.person)


def _wake_up(sink: Sink, person: int, woke: int) -> None:
    """After the waking click: the pricing page, often the price list, a webinar or an inquiry."""
    rng, end = sink.rng, sink.timeline.days * DAY
    case = sink.urls(lx.CASE_PAGES[randint(rng, 0, len(lx.CASE_PAGES))])
    # A look around before the click identified them: the cookie is known, the person is not.
    sink.one(woke - randint(rng, 1, 5) * DAY, -1, "site_visit", url=case, visitor=person)
    pages = [lx.PRICING_PAGE] + [
        (lx.PRICING_PAGE, lx.FEATURE_PAGES[4], lx.CASE_PAGES[0])[randint(rng, 0, 3)]
        for _ in range(randint(rng, 1, 5))
    ]
    times = np.sort(rng.integers(woke + 600, end, size=len(pages)))
    for at, page in zip(times.tolist(), pages, strict=True):
        sink.one(at, person, "site_visit", url=sink.urls(page), visitor=person)
    if rng.random() < 0.5:
        sink.download(int(times[0]) + 90, person, person, 1)  # 料金プラン表
    held = webinar_days(sink.timeline)
    upcoming = [w for w, day in enumerate(held) if day * DAY > woke]
    if upcoming and rng.random() < 0.3:
        sink.webinar(person, upcoming[0], randint(rng, woke, end))
    if rng.random() < 0.15:
        kind = "inquiry" if rng.random() < 0.5 else "demo_request"
        sink.one(
            randint(rng, int(times[-1]), end),
            person,
            kind,
            visitor=person,
            url=sink.urls(lx.CONTACT_PAGE if kind == "inquiry" else "/demo"),
        )
