"""POST /api/v1/import/{kind}: the CLI's import over HTTP, with real tokens and roles."""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient
from openpyxl import Workbook
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from mezame.accounts.service import create_api_token, create_user
from mezame.api.app import create_app
from mezame.config import Settings
from mezame.db import session_scope
from mezame.ingest import service
from mezame.models import Company, ImportRun

GOOD = (
    "顧客コード,会社名,業種,従業員数\r\n"
    'C001,㈱髙橋製作所①,製造業,"1,200"\r\n'
    "C002,株式会社〜波,卸売業,30\r\n"
)
BAD = (
    "顧客コード,会社名,従業員数\r\n"
    "C001,株式会社良品,10\r\n"  # line 2
    "C002,,5\r\n"  # line 3: name is required
    'C003,"複数行\r\nの会社",7\r\n'  # lines 4-5
    "C004,株式会社悪例,たくさん\r\n"  # line 6: not an integer
)


@dataclass
class Api:
    client: TestClient
    engine: Engine
    marketing: dict[str, str]
    sales: dict[str, str]

    def upload(
        self,
        kind: str,
        content: bytes,
        *,
        filename: str = "companies.csv",
        headers: dict[str, str] | None = None,
        **form: str,
    ) -> tuple[int, dict]:  # type: ignore[type-arg]
        response = self.client.post(
            f"/api/v1/import/{kind}",
            files={"file": (filename, io.BytesIO(content), "text/csv")},
            data=form,
            headers=self.marketing if headers is None else headers,
        )
        return response.status_code, response.json()

    def companies(self) -> int:
        with Session(self.engine) as s:
            return s.scalar(select(func.count()).select_from(Company)) or 0


@pytest.fixture
def api(sqlite_engine: Engine) -> Iterator[Api]:
    with session_scope(sqlite_engine) as s:
        marketer = create_user(
            s, email="mk@example.jp", name="販促 花子", role="marketing", password="correct-horse-1"
        )
        seller = create_user(
            s, email="sales@example.jp", name="営業 一郎", role="sales", password="correct-horse-2"
        )
        marketing_token = create_api_token(s, user_id=marketer.id, name="test")
        sales_token = create_api_token(s, user_id=seller.id, name="test")
    app = create_app(
        Settings(database_url=str(sqlite_engine.url), secret_key="test-secret-key-0123456789"),
        engine=sqlite_engine,
    )
    with TestClient(app) as client:
        yield Api(
            client,
            sqlite_engine,
            {"Authorization": f"Bearer {marketing_token}"},
            {"Authorization": f"Bearer {sales_token}"},
        )


def test_a_cp932_file_is_imported_and_reported(api: Api) -> None:
    status, report = api.upload("companies", GOOD.encode("cp932"))
    assert status == 200, report
    assert (report["kind"], report["file"], report["encoding"]) == (
        "companies",
        "companies.csv",
        "cp932",
    )
    assert (report["rows_total"], report["inserted"], report["rejected"]) == (2, 2, 0)
    assert report["mapping"]["顧客コード"] == "external_id"
    assert report["errors"] == [] and report["run_id"] is not None
    with Session(api.engine) as s:
        assert s.scalars(select(Company.name).order_by(Company.external_id)).all() == [
            "㈱髙橋製作所①",
            "株式会社～波",
        ]
        run = s.get(ImportRun, report["run_id"])
        assert run is not None and run.user_id is not None and run.status == "succeeded"
    status, again = api.upload("companies", GOOD.encode("cp932"))
    assert (status, again["inserted"], again["unchanged"]) == (200, 0, 2)
    assert api.companies() == 2


def test_bad_rows_give_422_with_their_lines_and_nothing_is_written(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(service, "BATCH_ROWS", 1)  # line 2 is written before line 3 fails
    status, body = api.upload("companies", BAD.encode("cp932"), filename="bad.csv")
    assert status == 422
    assert body["rejected"] == 2 and body["errors_total"] == 2
    assert [(e["line"], e["field"], e["column"], e["value"]) for e in body["errors"]] == [
        (3, "name", "会社名", ""),
        (6, "employee_count", "従業員数", "たくさん"),
    ]
    assert "何も書き込んでいません" in body["detail"]
    assert api.companies() == 0
    with Session(api.engine) as s:
        run = s.get(ImportRun, body["run_id"])
        assert run is not None and (run.status, run.filename, run.rows_rejected) == (
            "failed",
            "bad.csv",
            2,
        )


def test_skip_invalid_writes_the_good_rows(api: Api) -> None:
    status, report = api.upload("companies", BAD.encode("cp932"), skip_invalid="true")
    assert status == 200
    assert (report["inserted"], report["rejected"]) == (2, 2)
    assert [e["line"] for e in report["errors"]] == [3, 6]
    assert api.companies() == 2


def test_dry_run_previews_and_writes_nothing(api: Api) -> None:
    status, report = api.upload("companies", GOOD.encode("utf-8-sig"), dry_run="true")
    assert status == 200
    assert (report["dry_run"], report["inserted"], report["run_id"]) == (True, 2, None)
    assert report["preview"][0] == {
        "line": 2,
        "values": {
            "external_id": "C001",
            "name": "㈱髙橋製作所①",
            "industry": "製造業",
            "employee_count": 1200,
        },
    }
    assert api.companies() == 0


def test_a_mapping_in_yaml_and_an_xlsx_without_a_suffix(api: Api) -> None:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["得意先CD", "得意先名"])
    sheet.append(["T-1", "㈱得意先"])
    content = io.BytesIO()
    book.save(content)
    status, report = api.upload(
        "companies",
        content.getvalue(),
        filename="export",
        mapping="得意先CD: external_id\n得意先名: name\n",
    )
    assert status == 200, report
    assert (report["format"], report["inserted"]) == ("xlsx", 1)
    assert report["mapping"] == {"得意先CD": "external_id", "得意先名": "name"}


def test_a_file_without_a_required_column_is_refused(api: Api) -> None:
    status, body = api.upload("companies", "顧客コード\r\nC001\r\n".encode())
    assert status == 422
    assert "会社名" in body["detail"] and body["errors"] == []
    assert api.companies() == 0


def test_sales_may_not_import_and_strangers_must_log_in(api: Api) -> None:
    status, body = api.upload("companies", GOOD.encode("cp932"), headers=api.sales)
    assert status == 403, body
    status, body = api.upload("companies", GOOD.encode("cp932"), headers={})
    assert status == 401, body
    assert api.companies() == 0


def test_unknown_kinds_are_refused(api: Api) -> None:
    status, _ = api.upload("invoices", GOOD.encode("cp932"))
    assert status == 422


def test_openapi_documents_the_report_and_the_rejection(api: Api) -> None:
    spec = api.client.get("/api/v1/openapi.json").json()
    responses = spec["paths"]["/api/v1/import/{kind}"]["post"]["responses"]
    assert responses["200"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "ImportReportOut"
    )
    assert responses["422"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "ImportRejectedOut"
    )
