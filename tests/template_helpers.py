"""A demo-like world for the template tests: a dormant former customer with an owner, a last
order and one change since, and a contact at a company with no history."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from mezame.accounts.service import create_user
from mezame.models import Company, ConsentRecord, Contact, DormantCustomer, Order

CHANGE = "年間プランを10%値下げしました"
PASSWORD = "correct-horse-battery"


@dataclass(frozen=True)
class World:
    dormant_contact: int  # 佐藤 一郎 at 株式会社みなと物流: price, one change since
    colleague: int  # 高橋 次郎, same company: gets the company's change too
    newcomer: int  # 田中 花子 at a prospect: no history, no change
    owner_email: str


def dormant_row(**values: Any) -> DormantCustomer:
    row: dict[str, Any] = {
        "kind": "former_customer",
        "fell_asleep_on": date(2025, 5, 23),
        "trigger": "last_order",
        "asleep_days": 549,
        "excluded": False,
        "rank": 1,
        "score": 80.0,
        "band": "high",
        "reason": "price",
        "reason_confidence": 0.9,
        "reason_inferred": False,
        "order_count": 6,
        "spend": 2_400_000,
        "contract_months": 12,
        "interest": 0.0,
        "change_answers_reason": True,
        "channel": "mail",
        "angle": "price",
        **{
            f"pts_{k}": 1.0
            for k in (
                "kind",
                "frequency",
                "spend",
                "contract",
                "expected_value",
                "p_alive",
                "asleep",
                "change",
                "interest",
                "reach",
            )
        },
    }
    row.update(values)
    return DormantCustomer(**row)


def seed_world(session: Session) -> World:
    owner = create_user(
        session,
        email="suzuki@mezame.example.jp",
        name="鈴木 花子",
        role="sales",
        password=PASSWORD,
    )
    company = Company(import_key="C1", name="株式会社みなと物流", owner_id=owner.id)
    prospect = Company(import_key="C2", name="有限会社さくら商店")
    session.add_all([company, prospect])
    session.flush()
    sato = Contact(
        import_key="P1",
        company_id=company.id,
        name="佐藤 一郎",
        department="購買部",
        email="sato@minato.example.jp",
    )
    takahashi = Contact(
        import_key="P2",
        company_id=company.id,
        name="高橋 次郎",
        email="takahashi@minato.example.jp",
    )
    tanaka = Contact(
        import_key="P3", company_id=prospect.id, name="田中 花子", email="tanaka@sakura.example.jp"
    )
    session.add_all([sato, takahashi, tanaka])
    session.flush()
    for n, (day, product, amount) in enumerate(
        [
            (date(2024, 4, 1), "受発注クラウド 月額プラン", 200_000),
            (date(2025, 3, 31), "受発注クラウド 年間プラン", 2_400_000),
        ]
    ):
        session.add(
            Order(
                import_key=f"O{n}",
                company_id=company.id,
                contact_id=sato.id,
                ordered_on=day,
                product=product,
                amount=amount,
            )
        )
    session.add(
        dormant_row(
            company_id=company.id,
            contact_id=sato.id,
            owner_id=owner.id,
            change_kind="price_cut",
            change_on=date(2026, 10, 1),
            change_description=CHANGE,
        )
    )
    obtained = datetime.now(UTC) - timedelta(days=30)
    for contact in (sato, takahashi, tanaka):
        session.add(
            ConsentRecord(
                contact_id=contact.id, basis="opt_in", obtained_at=obtained, method="web form"
            )
        )
    session.flush()
    return World(sato.id, takahashi.id, tanaka.id, owner.email)
