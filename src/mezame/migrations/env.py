"""Alembic environment: runs on the engine mezame hands over, or on MEZAME_DATABASE_URL."""

from __future__ import annotations

from alembic import context

from mezame.db import make_engine
from mezame.models import Base

config = context.config


def run_migrations() -> None:
    engine = config.attributes.get("engine")
    if engine is None:
        from mezame.config import get_settings

        engine = make_engine(get_settings().database_url)
    with engine.begin() as connection:
        context.configure(
            connection=connection,
            target_metadata=Base.metadata,
            # SQLite alters tables by copy-and-move; batch mode keeps one migration for both.
            render_as_batch=True,
            compare_type=True,
        )
        context.run_migrations()


run_migrations()
