"""The migrations build the same schema as the models, on every backend."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from mezame.models import Base, Company, Contact, EngagementEvent


def test_migrations_match_models(engine: Engine) -> None:
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    # Expression indexes cannot be reflected on every backend; everything else must match.
    diff = [
        d for d in diff if not (d[0] in {"add_index", "remove_index"} and "email_lower" in str(d))
    ]
    assert diff == []


def test_expression_indexes_survive_every_migration(engine: Engine) -> None:
    """Batch migrations on SQLite copy tables and silently drop expression indexes."""
    if engine.dialect.name == "sqlite":
        sql = "SELECT name FROM sqlite_master WHERE type = 'index'"
    else:
        sql = "SELECT indexname FROM pg_indexes WHERE schemaname = current_schema()"
    with engine.connect() as conn:
        names = set(conn.exec_driver_sql(sql).scalars())
    assert "ix_contacts_email_lower" in names


def test_datetimes_round_trip_as_aware_utc(engine: Engine) -> None:
    jst = timezone(timedelta(hours=9))
    with Session(engine) as s:
        company = Company(import_key="c1", name="株式会社テスト")
        contact = Contact(import_key="p1", company=company, email="a@example.jp")
        s.add_all([company, contact])
        s.flush()
        s.add(
            EngagementEvent(
                dedupe_key=b"0123456789abcdef",
                type="mail_opened",
                occurred_at=datetime(2026, 11, 23, 9, 0, tzinfo=jst),
                contact_id=contact.id,
            )
        )
        s.commit()
    with Session(engine) as s:
        occurred = s.scalar(select(EngagementEvent.occurred_at))
    assert occurred == datetime(2026, 11, 23, 0, 0, tzinfo=UTC)
    assert occurred.tzinfo is not None
