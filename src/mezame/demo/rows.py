"""The simulated records as import rows, with the inconsistencies real exports have."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import numpy as np

from mezame.demo.companies import CompanyBook
from mezame.demo.eventlog import EVENT_TYPES, EventLog
from mezame.demo.lifecycle import Account, OrderRecord
from mezame.demo.people import Person
from mezame.demo.sales import SalesBook
from mezame.demo.timeline import Timeline, randint

Value = str | int | date | datetime | dict[str, object] | None
Row = dict[str, Value]

# The vendor's sales reps: owners of companies, contacts and deals (demo logins share these).
SALES_REPS: tuple[tuple[str, str], ...] = (
    ("sales@demo.mezame.jp", "営業 太郎"),
    ("sales2@demo.mezame.jp", "営業 花子"),
    ("sales3@demo.mezame.jp", "営業 次郎"),
)


_STATUS_WORDS = {
    "customer": ("取引中", "既存顧客"),
    "former": ("休眠", "取引停止"),
    "prospect": ("見込み", "見込客"),
}
_CONSENT_WORDS = {
    "opt_in": ("同意済", "オプトイン"),
    "business_card": ("名刺交換",),
    "existing_transaction": ("既存取引",),
    "none": ("未取得", ""),
}
_ACTIVITY_WORDS = {
    "call": ("電話", "架電"),
    "mail": ("メール",),
    "visit": ("訪問",),
    "online_meeting": ("オンライン商談", "Web会議"),
}
_OUTCOME_WORDS = {"won": "受注", "lost": "失注", "postponed": "見送り", "open": "商談中"}
_EVENT_WORDS = {
    "mail_sent": "配信",
    "mail_opened": "開封",
    "mail_clicked": "クリック",
    "mail_bounced": "不達",
    "mail_unsubscribed": "配信停止",
    "document_download": "資料ダウンロード",
    "webinar_registered": "ウェビナー申込",
    "webinar_attended": "ウェビナー参加",
    "site_visit": "サイト訪問",
    "inquiry": "お問い合わせ",
    "demo_request": "デモ依頼",
}


class RowWriter:
    """Turns the simulated records into import rows, with the inconsistencies real exports have."""

    def __init__(
        self,
        rng: np.random.Generator,
        timeline: Timeline,
        book: CompanyBook,
        accounts: list[Account],
        people: list[Person],
        sales: SalesBook,
    ) -> None:
        self.rng, self.timeline, self.book = rng, timeline, book
        self.accounts, self.people, self.sales = accounts, people, sales
        self.stale: list[int] = []
        self.primary: dict[int, Person] = {}
        for p in people:
            if p.duplicate_of is None and not p.role_mailbox and p.firm not in self.primary:
                self.primary[p.firm] = p

    def _word(self, words: tuple[str, ...]) -> str:
        return words[randint(self.rng, 0, len(words))]

    def _day(self, day: int | None) -> date | None:
        return None if day is None else self.timeline.on(day)

    def companies(self) -> list[Row]:
        rng, last = self.rng, self.timeline.days - 1
        rows: list[Row] = []
        shared = {d.firm for d in self.book.duplicates if d.shares_phone}  # planted: keep it
        for firm, acc in zip(self.book.firms, self.accounts, strict=True):
            if acc.is_customer:
                truth = "customer" if acc.churn_day is None else "former"
                changed = acc.churn_day if acc.churn_day is not None else acc.acquired_day
            else:
                truth, changed = (
                    "prospect",
                    acc.lead_day if acc.lead_day is not None else acc.deal_day,
                )
            status: str | None = self._word(_STATUS_WORDS[truth])
            if truth == "former" and acc.cancelled:
                status = "解約"
            updated = None if changed is None else randint(rng, changed, last + 1)
            roll = rng.random()
            if truth == "former" and roll < 0.15:
                # Nobody updated the status when they stopped buying: the first fault of the seeds.
                status, updated = "取引中", randint(rng, 0, max(1, changed or 1))
                self.stale.append(firm.index)
            elif roll < 0.05:
                status, updated = None, None
            elif roll < 0.08:
                status = "不明"
            rows.append(
                {
                    "external_id": firm.external_id,
                    "name": firm.name,
                    "name_kana": firm.kana if rng.random() < 0.6 else None,
                    "corporate_number": firm.written_corporate_number,
                    "industry": firm.industry,
                    "employee_count": firm.employees if rng.random() < 0.8 else None,
                    "phone": firm.phone if firm.index in shared or rng.random() < 0.95 else None,
                    "website": firm.website,
                    "postal_code": firm.postal_code if rng.random() < 0.9 else None,
                    "address": firm.address,
                    "status": status,
                    "status_updated_on": self._day(updated),
                    "source": acc.lead_source if rng.random() < 0.85 else None,
                    "notes": firm.notes,
                    "owner_email": SALES_REPS[firm.owner][0],
                }
            )
        for dup in self.book.duplicates:
            firm = self.book.firms[dup.firm]
            rows.append(
                {
                    "external_id": dup.external_id,
                    "name": dup.name,
                    "name_kana": None,
                    "corporate_number": dup.corporate_number,
                    "industry": firm.industry if rng.random() < 0.6 else None,
                    "employee_count": None,
                    "phone": dup.phone,
                    "website": None,
                    "postal_code": dup.postal_code,
                    "address": dup.address,
                    "status": self._word(("見込み", "不明", "")) or None,
                    "status_updated_on": None,
                    "source": self._word(("展示会", "名刺交換", "")) or None,
                    "notes": self._word(("展示会で名刺交換", "要確認", "")) or None,
                    "owner_email": SALES_REPS[randint(rng, 0, len(SALES_REPS))][0],
                }
            )
        return rows

    def contacts(self) -> list[Row]:
        return [
            {
                "external_id": p.external_id,
                "company_external_id": p.company_code,
                "company_name": p.company_name,
                "name": p.name,
                "name_kana": p.kana,
                "department": p.department,
                "title": p.title,
                "email": p.email,
                "phone": p.phone,
                "mobile": p.mobile,
                "source": p.source,
                "acquired_on": self._day(p.acquired_day),
                "hearing_notes": p.hearing_notes,
                "consent_basis": self._word(_CONSENT_WORDS[p.consent]) or None,
                "consent_obtained_on": self._day(p.consent_day),
                "owner_email": SALES_REPS[p.owner][0],
            }
            for p in self.people
        ]

    def _company_ref(self, firm: int) -> Row:
        f = self.book.firms[firm]
        return {"company_external_id": f.external_id, "company_name": f.name}

    def _contact_ref(self, person: int | None) -> str | None:
        return None if person is None else self.people[person].external_id

    def deals(self) -> list[Row]:
        return [
            {
                "external_id": d.external_id,
                **self._company_ref(d.firm),
                "contact_external_id": self._contact_ref(d.person),
                "name": d.name,
                "phase": d.phase,
                "outcome": _OUTCOME_WORDS[d.outcome],
                "lost_reason": d.lost_reason,
                "amount": d.amount,
                "product": d.product,
                "opened_on": self._day(d.opened),
                "closed_on": self._day(d.closed),
                "notes": d.notes,
                "owner_email": SALES_REPS[d.owner][0],
            }
            for d in self.sales.deals
        ]

    def orders(self) -> list[Row]:
        records: list[OrderRecord] = sorted(
            (o for acc in self.accounts for o in acc.orders), key=lambda o: (o.day, o.firm)
        )
        rows: list[Row] = []
        for n, o in enumerate(records, start=1):
            contact = self.primary.get(o.firm)
            rows.append(
                {
                    "external_id": f"KY{n:07d}" if o.contract_start is not None else f"J{n:07d}",
                    **self._company_ref(o.firm),
                    "contact_external_id": contact.external_id
                    if contact and self.rng.random() < 0.85
                    else None,
                    "deal_external_id": None
                    if o.deal is None
                    else self.sales.deals[o.deal].external_id,
                    "product": o.product,
                    "product_line": o.line,
                    "ordered_on": self._day(o.day),
                    "amount": o.amount,
                    "contract_start": self._day(o.contract_start),
                    "contract_end": o.contract_end,
                    "cancelled_on": self._day(o.cancelled),
                    "notes": o.note,
                }
            )
        return rows

    def activities(self) -> list[Row]:
        records = sorted(self.sales.activities, key=lambda a: (a.seconds, a.firm))
        return [
            {
                "external_id": f"A{n:07d}",
                **self._company_ref(a.firm),
                "contact_external_id": self._contact_ref(a.person),
                "deal_external_id": None
                if a.deal is None
                else self.sales.deals[a.deal].external_id,
                "user_email": SALES_REPS[a.owner][0],
                "kind": self._word(_ACTIVITY_WORDS[a.kind]),
                "occurred_at": self.timeline.at(a.seconds),
                "subject": a.subject,
                "note": a.note,
            }
            for n, a in enumerate(records, start=1)
        ]

    def surveys(self) -> list[Row]:
        records = sorted(self.sales.surveys, key=lambda s: (s.seconds, s.firm))
        return [
            {
                "external_id": f"R{n:06d}",
                **self._company_ref(s.firm),
                "contact_email": self.people[s.person].email,
                "survey": s.survey,
                "answered_at": self.timeline.at(s.seconds),
                "nps_score": s.score,
                "comment": s.comment,
            }
            for n, s in enumerate(records, start=1)
        ]

    def events(self, log: EventLog) -> list[Row]:
        emails = [p.email for p in self.people]
        words = [_EVENT_WORDS[t] for t in EVENT_TYPES]
        campaigns = [c.name for c in log.campaigns]
        start = self.timeline.at(0)
        rows: list[Row] = []
        columns = zip(
            log.person.tolist(),
            log.type.tolist(),
            log.campaign.tolist(),
            log.url.tolist(),
            log.document.tolist(),
            log.webinar.tolist(),
            log.watch_seconds.tolist(),
            log.payload.tolist(),
            log.visitor.tolist(),
            log.seconds.tolist(),
            strict=True,
        )
        for n, (person, type_, camp, url, doc, web, watch, payload, visitor, sec) in enumerate(
            columns, start=1
        ):
            rows.append(
                {
                    "external_id": f"EV{n:08d}",
                    "contact_email": emails[person] if person >= 0 else None,
                    "visitor_id": log.visitors[visitor] if visitor >= 0 else None,
                    "type": words[type_],
                    "occurred_at": start + timedelta(seconds=sec),
                    "campaign": campaigns[camp] if camp >= 0 else None,
                    "url": log.urls[url] if url >= 0 else None,
                    "document": log.documents[doc] if doc >= 0 else None,
                    "webinar": log.webinars[web] if web >= 0 else None,
                    "watch_seconds": watch if watch >= 0 else None,
                    "payload": log.payloads[payload] if payload >= 0 else None,
                }
            )
        return rows
