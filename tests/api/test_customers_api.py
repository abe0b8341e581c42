"""The read API: companies, contacts and the timeline, through HTTP with real logins and tokens."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from mezame.accounts.service import create_api_token, create_user
from mezame.api.app import create_app
from mezame.config import Settings
from mezame.customers import service
from mezame.db import session_scope
from mezame.models import (
    Company,
    Contact,
    Deal,
    EngagementEvent,
    Order,
    SalesActivity,
    SurveyAnswer,
)


@dataclass
class World:
    client: TestClient
    token: str
    company_ids: dict[str, int]
    contact_ids: dict[str, int]


def _key(n: int) -> bytes:
    return n.to_bytes(16, "big")


@pytest.fixture
def world(sqlite_engine: Engine) -> Iterator[World]:
    """Three companies, 30 contacts at the first, one contact with a full history."""
    with session_scope(sqlite_engine) as s:
        user = create_user(
            s, email="mk@example.jp", name="営業 一郎", role="sales", password="correct-horse-1"
        )
        token = create_api_token(s, user_id=user.id, name="test")
        acme = Company(
            import_key="C001", external_id="C001", name="株式会社アクメ", status="former"
        )
        beta = Company(import_key="C002", external_id="C002", name="ベータ工業(株)")
        gamma = Company(import_key="C003", external_id="C003", name="100%_Gamma Ltd.")
        s.add_all([acme, beta, gamma])
        s.flush()
        for i in range(30):
            s.add(
                Contact(
                    import_key=f"P{i:03}",
                    external_id=f"P{i:03}",
                    company_id=acme.id,
                    name=f"アクメ 社員{i:02}",
                    email=f"staff{i:02}@acme.example.jp",
                )
            )
        suzuki = Contact(
            import_key="P900",
            external_id="P900",
            company_id=beta.id,
            name="鈴木 次郎",
            email="Jiro.Suzuki@beta.example.jp",
        )
        s.add(suzuki)
        s.flush()
        # The history, deliberately inserted out of order.
        s.add_all(
            [
                EngagementEvent(
                    dedupe_key=_key(1),
                    type="document_download",
                    occurred_at=datetime(2026, 10, 5, 2, 0, tzinfo=UTC),
                    contact_id=suzuki.id,
                    document="料金表2026.pdf",
                ),
                EngagementEvent(
                    dedupe_key=_key(2),
                    type="mail_opened",
                    occurred_at=datetime(2026, 11, 20, 0, 30, tzinfo=UTC),
                    contact_id=suzuki.id,
                    campaign="11月ニュースレター",
                ),
                SalesActivity(
                    import_key="A1",
                    contact_id=suzuki.id,
                    company_id=beta.id,
                    kind="call",
                    occurred_at=datetime(2026, 10, 20, 5, 0, tzinfo=UTC),
                    subject="資料のフォロー",
                ),
                Deal(
                    import_key="D1",
                    company_id=beta.id,
                    contact_id=suzuki.id,
                    name="会計システム導入",
                    outcome="lost",
                    lost_reason="価格が合わない",
                    amount=1_800_000,
                    opened_on=date(2025, 1, 10),
                    closed_on=date(2025, 3, 31),
                ),
                Order(
                    import_key="O1",
                    company_id=beta.id,
                    ordered_on=date(2024, 6, 1),
                    amount=1_234_000,
                    product="保守契約",
                    cancelled_on=date(2025, 5, 31),
                ),
                SurveyAnswer(
                    import_key="S1",
                    contact_id=suzuki.id,
                    company_id=beta.id,
                    survey="NPS 2026",
                    answered_at=datetime(2026, 11, 22, 3, 0, tzinfo=UTC),
                    nps_score=8,
                ),
            ]
        )
        company_ids = {"acme": acme.id, "beta": beta.id, "gamma": gamma.id}
        contact_ids = {"suzuki": suzuki.id}
    app = create_app(
        Settings(database_url=str(sqlite_engine.url), secret_key="test-secret-key-0123456789"),
        engine=sqlite_engine,
    )
    with TestClient(app) as client:
        yield World(client, token, company_ids, contact_ids)


def _get(world: World, path: str, **params: object) -> dict:  # type: ignore[type-arg]
    response = world.client.get(
        path, params=params, headers={"Authorization": f"Bearer {world.token}"}
    )
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def test_every_read_endpoint_needs_a_login(world: World) -> None:
    cid = world.contact_ids["suzuki"]
    for path in [
        "/api/v1/companies",
        f"/api/v1/companies/{world.company_ids['acme']}",
        "/api/v1/contacts",
        f"/api/v1/contacts/{cid}",
        f"/api/v1/contacts/{cid}/timeline",
    ]:
        assert world.client.get(path).status_code == 401, path
        bad = world.client.get(path, headers={"Authorization": "Bearer mzm_not-a-token"})
        assert bad.status_code == 401, path


def test_companies_list_newest_first_and_search(world: World) -> None:
    page = _get(world, "/api/v1/companies")
    assert [c["name"] for c in page["items"]] == [
        "100%_Gamma Ltd.",
        "ベータ工業(株)",
        "株式会社アクメ",
    ]
    assert page["total"] == 3 and page["total_capped"] is False and page["has_next"] is False
    acme = page["items"][2]
    assert acme["contact_count"] == 30 and acme["status"] == "former"

    assert [c["name"] for c in _get(world, "/api/v1/companies", q="アクメ")["items"]] == [
        "株式会社アクメ"
    ]
    assert [c["name"] for c in _get(world, "/api/v1/companies", q="C002")["items"]] == [
        "ベータ工業(株)"
    ]
    # LIKE wildcards in the query are literal characters, not "match anything".
    assert [c["name"] for c in _get(world, "/api/v1/companies", q="%_")["items"]] == [
        "100%_Gamma Ltd."
    ]
    assert _get(world, "/api/v1/companies", q="gamma")["total"] == 1  # case-insensitive
    assert _get(world, "/api/v1/companies", q="存在しない会社")["items"] == []


def test_contacts_paging_and_search_by_name_email_code_and_company(world: World) -> None:
    first = _get(world, "/api/v1/contacts", per_page=10)
    assert first["total"] == 31 and first["has_next"] is True
    assert first["items"][0]["name"] == "鈴木 次郎"
    assert first["items"][0]["company_name"] == "ベータ工業(株)"
    last = _get(world, "/api/v1/contacts", per_page=10, page=4)
    assert len(last["items"]) == 1 and last["has_next"] is False
    seen = {
        c["id"]
        for p in range(1, 5)
        for c in _get(world, "/api/v1/contacts", per_page=10, page=p)["items"]
    }
    assert len(seen) == 31  # pages neither overlap nor skip

    def names(**params: object) -> list[str]:
        return [c["name"] for c in _get(world, "/api/v1/contacts", **params)["items"]]

    assert names(q="鈴木") == ["鈴木 次郎"]
    assert names(q="jiro.suzuki@BETA") == ["鈴木 次郎"]
    assert names(q="P900") == ["鈴木 次郎"]
    assert names(q="ベータ工業") == ["鈴木 次郎"]
    assert _get(world, "/api/v1/contacts", q="アクメ")["total"] == 30
    assert _get(world, "/api/v1/contacts", company_id=world.company_ids["beta"])["total"] == 1


def test_per_page_is_bounded(world: World) -> None:
    headers = {"Authorization": f"Bearer {world.token}"}
    assert world.client.get("/api/v1/contacts?per_page=1000", headers=headers).status_code == 422
    assert world.client.get("/api/v1/contacts?page=0", headers=headers).status_code == 422


def test_counts_stop_at_the_cap(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(service, "COUNT_CAP", 20)
    page = _get(world, "/api/v1/contacts", per_page=10, page=2)
    assert page["total"] == 20 and page["total_capped"] is True and page["has_next"] is True
    assert len(page["items"]) == 10


def test_company_detail_and_missing_ids(world: World) -> None:
    beta = _get(world, f"/api/v1/companies/{world.company_ids['beta']}")
    assert beta["name"] == "ベータ工業(株)"
    assert [c["name"] for c in beta["contacts"]] == ["鈴木 次郎"]
    assert beta["order_count"] == 1 and beta["order_total"] == 1_234_000
    assert beta["last_ordered_on"] == "2024-06-01"
    assert beta["deal_outcomes"] == {"lost": 1}
    headers = {"Authorization": f"Bearer {world.token}"}
    for path in ["/api/v1/companies/999999", "/api/v1/contacts/999999"]:
        assert world.client.get(path, headers=headers).status_code == 404
    missing = world.client.get("/api/v1/contacts/999999/timeline", headers=headers)
    assert missing.status_code == 404


def test_contact_detail(world: World) -> None:
    suzuki = _get(world, f"/api/v1/contacts/{world.contact_ids['suzuki']}")
    assert suzuki["email"] == "Jiro.Suzuki@beta.example.jp"
    assert suzuki["company_id"] == world.company_ids["beta"]
    assert suzuki["company_name"] == "ベータ工業(株)"


def test_timeline_merges_every_source_newest_first(world: World) -> None:
    entries = _get(world, f"/api/v1/contacts/{world.contact_ids['suzuki']}/timeline")
    assert [(e["source"], e["kind"]) for e in entries] == [
        ("survey", "survey"),
        ("event", "mail_opened"),
        ("activity", "call"),
        ("event", "document_download"),
        ("order", "contract_cancelled"),
        ("deal", "deal_lost"),
        ("deal", "deal_opened"),
        ("order", "order"),
    ]
    lost = entries[5]
    assert lost["detail"] == "価格が合わない" and lost["amount"] == 1_800_000
    assert lost["all_day"] is True and lost["at"].startswith("2025-03-31T00:00:00+09:00")
    assert entries[3]["title"] == "料金表2026.pdf"
    assert entries[0]["score"] == 8

    limited = _get(world, f"/api/v1/contacts/{world.contact_ids['suzuki']}/timeline", limit=3)
    assert [e["kind"] for e in limited] == ["survey", "mail_opened", "call"]


def test_openapi_documents_the_read_endpoints(world: World) -> None:
    spec = world.client.get("/api/v1/openapi.json").json()
    for path in [
        "/api/v1/companies",
        "/api/v1/companies/{company_id}",
        "/api/v1/contacts",
        "/api/v1/contacts/{contact_id}",
        "/api/v1/contacts/{contact_id}/timeline",
    ]:
        assert "get" in spec["paths"][path], path
    assert not any(p.startswith("/companies") or p == "/login" for p in spec["paths"])
