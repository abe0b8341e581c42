"""The event log being built: columnar arrays, lookups for strings and payloads, and helpers."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from mezame.demo import lexicon as lx
from mezame.demo.campaigns import DAY, DOCUMENT_PAGES, Campaign, webinar_days
from mezame.demo.timeline import Timeline, randint

EVENT_TYPES = (
    "mail_sent",
    "mail_opened",
    "mail_clicked",
    "mail_bounced",
    "mail_unsubscribed",
    "document_download",
    "webinar_registered",
    "webinar_attended",
    "site_visit",
    "inquiry",
    "demo_request",
)
T = {name: code for code, name in enumerate(EVENT_TYPES)}

IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]


@dataclass(slots=True)
class EventLog:
    """Columnar events; -1 means empty. Strings live in the lookup lists."""

    seconds: IntArray
    person: IntArray
    type: IntArray
    campaign: IntArray
    url: IntArray
    document: IntArray
    webinar: IntArray
    watch_seconds: IntArray
    payload: IntArray
    visitor: IntArray
    campaigns: list[Campaign]
    urls: list[str]
    webinars: list[str]
    documents: list[str]
    payloads: list[dict[str, object]]
    visitors: list[str]
    warming: list[int] = field(default_factory=list)
    warm_from: dict[int, int] = field(default_factory=dict)  # person → second the waking began


class Columns:
    """Accumulates event columns; scalars broadcast."""

    names = (
        "seconds",
        "person",
        "type",
        "campaign",
        "url",
        "document",
        "webinar",
        "watch_seconds",
        "payload",
        "visitor",
    )

    def __init__(self) -> None:
        self.parts: dict[str, list[IntArray]] = {n: [] for n in self.names}
        self.singles: list[tuple[int, ...]] = []

    def add(
        self, seconds: IntArray, person: IntArray | int, type_: str, **cols: IntArray | int
    ) -> None:
        n = len(seconds)
        if n == 0:
            return
        values: dict[str, IntArray | int] = {"seconds": seconds, "person": person, "type": T[type_]}
        for name in self.names:
            value = values.get(name, cols.get(name, -1))
            if isinstance(value, int):
                self.parts[name].append(np.full(n, value, dtype=np.int64))
            else:
                self.parts[name].append(np.asarray(value, dtype=np.int64))

    def one(self, seconds: int, person: int, type_: str, **cols: int) -> None:
        """One event; kept in a plain list because most helpers add them one at a time."""
        self.singles.append((seconds, person, T[type_], *(cols.get(n, -1) for n in self.names[3:])))

    def column(self, name: str) -> IntArray:
        i = self.names.index(name)
        singles = np.array([row[i] for row in self.singles], dtype=np.int64)
        return np.concatenate([*self.parts[name], singles]).astype(np.int64)


class Lookup:
    def __init__(self) -> None:
        self.items: list[str] = []
        self.index: dict[str, int] = {}

    def __call__(self, item: str) -> int:
        if item not in self.index:
            self.index[item] = len(self.items)
            self.items.append(item)
        return self.index[item]


class PayloadBook:
    """The JSON payloads events carry; identical ones are shared."""

    def __init__(self) -> None:
        self.items: list[dict[str, object]] = []
        self._cache: dict[str, int] = {}

    def add(self, payload: dict[str, object], key: str | None = None) -> int:
        if key is not None and key in self._cache:
            return self._cache[key]
        self.items.append(payload)
        if key is not None:
            self._cache[key] = len(self.items) - 1
        return len(self.items) - 1

    def user_agent(self, agent: str) -> int:
        return self.add({"user_agent": agent}, "ua:" + agent)

    def bounce(self) -> int:
        return self.add({"bounce": "hard", "smtp": "550 5.1.1 user unknown"}, "bounce")


@dataclass(slots=True)
class Sink:
    """What the event helpers write into."""

    rng: np.random.Generator
    timeline: Timeline
    cols: Columns
    urls: Lookup
    documents: Lookup
    payloads: PayloadBook

    def one(self, seconds: int, person: int, type_: str, **cols: int) -> None:
        self.cols.one(seconds, person, type_, **cols)

    def download(self, seconds: int, person: int, visitor: int, document: int) -> None:
        self.one(
            seconds,
            person,
            "document_download",
            document=self.documents(lx.DOCUMENTS[document]),
            url=self.urls(DOCUMENT_PAGES[document]),
            visitor=visitor,
        )

    def webinar(self, person: int, webinar: int, registered_at: int) -> None:
        """A registration and, for most, attendance with watch time and sometimes a question."""
        rng = self.rng
        self.one(registered_at, person, "webinar_registered", webinar=webinar)
        held = webinar_days(self.timeline)[webinar]
        if held >= self.timeline.days or rng.random() > 0.65:
            return
        payload = -1
        if rng.random() < 0.15:
            question = lx.WEBINAR_QUESTIONS[randint(rng, 0, len(lx.WEBINAR_QUESTIONS))]
            payload = self.payloads.add({"questions": [question]})
        self.one(
            held * DAY + 14 * 3600 + randint(rng, 0, 600),
            person,
            "webinar_attended",
            webinar=webinar,
            watch_seconds=randint(rng, 300, 3600),
            payload=payload,
        )
