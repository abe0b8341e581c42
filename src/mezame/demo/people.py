"""Contacts (担当者): who they are, how we met them, and the gaps a real list has."""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from mezame.demo import lexicon as lx
from mezame.demo.companies import CompanyBook, Firm, direct_line, mobile_number
from mezame.demo.lifecycle import Account
from mezame.demo.timeline import Timeline, randint, weighted

_CONSENT_BY_SOURCE = {
    "展示会": "business_card",
    "資料請求": "opt_in",
    "問い合わせ": "opt_in",
    "ウェビナー": "opt_in",
    "既存取引": "existing_transaction",
}


@dataclass(slots=True)
class Person:
    """One contact record; a planted duplicate is a second record of the same person."""

    index: int
    external_id: str
    firm: int
    company_code: str  # the company row this record hangs off (the firm's or its duplicate's)
    company_name: str  # the company as written on this record
    name: str | None
    kana: str | None
    department: str | None
    title: str | None
    email: str | None  # as written
    phone: str | None
    mobile: str | None
    source: str
    acquired_day: int | None
    hearing_notes: str | None
    consent: str  # opt_in / business_card / existing_transaction / none
    consent_day: int | None
    owner: int
    role_mailbox: bool = False
    dead_from: int | None = None  # mail to this address bounces from this day on
    machine_opener: bool = False  # Apple-MPP-like: every mail "opened" seconds after delivery
    duplicate_of: int | None = None


def _choice(rng: np.random.Generator, items: tuple[str, ...]) -> str:
    return items[randint(rng, 0, len(items))]


def _title(rng: np.random.Generator) -> str:
    return lx.TITLES[weighted(rng, [t[1] for t in lx.TITLES])][0]


def _local_part(rng: np.random.Generator, surname: str, given: str) -> str:
    patterns = (
        f"{given[0]}.{surname}",
        surname,
        f"{given}.{surname}",
        f"{surname}-{given[0]}",
        f"{surname}.{given}",
        f"{surname}{given[0]}",
    )
    return patterns[randint(rng, 0, len(patterns))]


class _Mailboxes:
    """Keeps every address unique, as a mail server would."""

    def __init__(self) -> None:
        self.taken: set[str] = set()

    def claim(self, local: str, domain: str) -> str:
        candidate, n = f"{local}@{domain}", 2
        while candidate in self.taken:
            candidate, n = f"{local}{n}@{domain}", n + 1
        self.taken.add(candidate)
        return candidate


def _person(
    rng: np.random.Generator,
    boxes: _Mailboxes,
    firm: Firm,
    index: int,
    *,
    source: str,
    acquired: int | None,
    consent_day: int | None,
    primary: bool,
    hearing: str | None,
) -> Person:
    surname = lx.SURNAMES[randint(rng, 0, len(lx.SURNAMES))]
    given = lx.GIVEN_NAMES[randint(rng, 0, len(lx.GIVEN_NAMES))]
    sep = _choice(rng, (" ", " ", "　", "　", ""))
    name: str | None = surname[0] + sep + given[0]
    kana: str | None = f"{surname[1]} {given[1]}" if rng.random() < 0.7 else None
    departments = lx.DEPARTMENTS_BY_INDUSTRY[firm.industry]
    department: str | None = _choice(rng, departments) if rng.random() < 0.85 else None
    title: str | None = _title(rng) or None
    consent = _CONSENT_BY_SOURCE.get(source)
    if consent is None:  # 紹介 / テレアポ: cards were exchanged at the first meeting, or not
        consent = "business_card" if rng.random() < 0.5 else "none"
    role = not primary and rng.random() < 0.05
    email: str | None
    if role:
        local, label = lx.ROLE_MAILBOXES[randint(rng, 0, len(lx.ROLE_MAILBOXES))]
        email, name, kana, title = boxes.claim(local, firm.domain), label, None, None
    elif rng.random() < 0.08:
        email = None  # the card had no address, or nobody typed it in
    elif rng.random() < (0.15 if firm.employees < 20 else 0.02):
        email = boxes.claim(f"{given[2]}.{surname[2]}", _choice(rng, lx.FREE_MAIL_DOMAINS))
    else:
        email = boxes.claim(_local_part(rng, surname[2], given[2]), firm.domain)
    dead_from: int | None = None
    if email is not None and rng.random() < 0.025:
        if rng.random() < 0.4:  # mistyped when the card was entered: bounces from the start
            local, domain = email.split("@")
            email = boxes.claim(local[:-1] if len(local) > 3 else local + "x", domain)
            dead_from = 0
        else:  # left the company some time during the history
            dead_from = randint(rng, 30, 700)
    if email is not None and rng.random() < 0.03:
        email = email[0].upper() + email[1:]
    roll = rng.random()
    phone = firm.phone if roll < 0.4 else direct_line(rng, firm) if roll < 0.75 else None
    return Person(
        index=index,
        external_id=f"T{200001 + index}",
        firm=firm.index,
        company_code=firm.external_id,
        company_name=firm.name,
        name=name,
        kana=kana,
        department=department,
        title=title,
        email=email,
        phone=phone,
        mobile=mobile_number(rng) if rng.random() < 0.3 else None,
        source=source,
        acquired_day=acquired,
        hearing_notes=hearing,
        consent=consent,
        consent_day=consent_day if consent != "none" else None,
        owner=firm.owner,
        role_mailbox=role,
        dead_from=dead_from,
        machine_opener=email is not None and rng.random() < 0.08,
    )


def make_people(
    rng: np.random.Generator,
    timeline: Timeline,
    book: CompanyBook,
    accounts: list[Account],
    shows: list[tuple[int, str]],
) -> list[Person]:
    """Contacts for every firm, some re-attached to the firm's duplicate row, some entered twice."""
    boxes = _Mailboxes()
    show_name = dict(shows)
    people: list[Person] = []
    for firm, acc in zip(book.firms, accounts, strict=True):
        if acc.is_customer:
            count = 2 + int(rng.poisson(1.7))
        elif acc.kind == "prospect":
            count = 1 + int(rng.poisson(1.0))
        else:
            count = 1 + int(rng.random() < 0.25)
        for k in range(min(count, 7)):
            if k == 0 and acc.kind != "base_customer":
                source, acquired = acc.lead_source, acc.lead_day
            elif acc.is_customer:
                source = "既存取引"
                low = acc.acquired_day if acc.kind == "new_customer" else None
                acquired = None if low is None else randint(rng, low, timeline.days)
            elif acc.kind == "prospect":
                source = _choice(rng, ("紹介", "テレアポ", acc.lead_source))
                low = acc.deal_day if acc.deal_day is not None else 0
                acquired = randint(rng, low, timeline.days)
            else:  # a colleague met at the same booth or on the same form
                source, acquired = acc.lead_source, acc.lead_day
            consent_day = acquired
            hearing: str | None = None
            if source == "展示会" and acquired in show_name and rng.random() < 0.6:
                interest = _choice(rng, lx.HEARING_NOTES)
                hearing = f"【{show_name[acquired]}】ブースにて名刺交換。{interest}"
            elif acc.kind != "contact_only" and rng.random() < 0.35:
                hearing = _choice(rng, lx.HEARING_NOTES)
            people.append(
                _person(
                    rng,
                    boxes,
                    firm,
                    len(people),
                    source=source,
                    acquired=acquired,
                    consent_day=consent_day,
                    primary=k == 0,
                    hearing=hearing,
                )
            )
    _attach_to_duplicates(rng, book, people)
    return people


def _attach_to_duplicates(
    rng: np.random.Generator, book: CompanyBook, people: list[Person]
) -> None:
    """Move some contacts onto the duplicate company rows and enter some people twice."""
    by_firm: dict[int, list[Person]] = {}
    for p in people:
        by_firm.setdefault(p.firm, []).append(p)
    for dup in book.duplicates:
        staff = by_firm.get(dup.firm, [])
        moved = [p for p in staff[1:] if rng.random() < 0.5]
        for p in moved:
            p.company_code, p.company_name = dup.external_id, dup.name
        if not moved and staff:  # the same person's card scanned again under the duplicate
            _copy(rng, people, staff[0], dup.external_id, dup.name)
    for p in list(people):
        if p.duplicate_of is None and p.email is not None and rng.random() < 0.02:
            _copy(rng, people, p, p.company_code, p.company_name)


def _copy(
    rng: np.random.Generator, people: list[Person], original: Person, code: str, company: str
) -> None:
    name = original.name.replace("　", " ") if original.name else None
    if name is not None and rng.random() < 0.5:
        name = name.replace(" ", "")
    email = original.email
    if email is not None and rng.random() < 0.5:
        email = email.upper() if rng.random() < 0.3 else email[0].upper() + email[1:]
    index = len(people)
    people.append(
        replace(
            original,
            index=index,
            external_id=f"T{200001 + index}",
            company_code=code,
            company_name=company,
            name=name,
            email=email,
            source="展示会" if original.source != "展示会" else "名刺交換",
            hearing_notes=None,
            machine_opener=False,
            duplicate_of=original.index,
        )
    )
