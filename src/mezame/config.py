"""Infrastructure settings (MEZAME_ prefix). Business policy lives in the database, not here."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Where mezame keeps its data, how it queues work and how it sends mail."""

    model_config = SettingsConfigDict(env_prefix="MEZAME_", env_file=".env", extra="ignore")

    database_url: str = "sqlite:///./mezame.db"
    # Empty means the embedded Huey queue on SQLite beside the database; redis://… scales out.
    queue_url: str = ""
    secret_key: SecretStr = SecretStr("dev-insecure-change-me")
    # Run the queue consumer inside `mezame serve` (embedded mode); off when workers run apart.
    embedded_worker: bool = True

    smtp_host: str = "127.0.0.1"
    smtp_port: int = 25
    smtp_username: str = ""
    smtp_password: SecretStr = SecretStr("")
    smtp_starttls: bool = False

    # 特定電子メール法: every mail names the sender and a postal address.
    sender_name: str = "mezame"
    sender_email: str = "no-reply@example.jp"
    sender_address: str = ""

    base_url: str = "http://127.0.0.1:8000"
    timezone: str = "Asia/Tokyo"
    default_locale: str = Field(default="ja", pattern="^(ja|en)$")

    def queue_path(self) -> Path:
        """The embedded queue's SQLite file, kept beside the main database."""
        if self.database_url.startswith("sqlite:///") and self.database_url != "sqlite:///:memory:":
            db_path = Path(self.database_url.removeprefix("sqlite:///"))
            return db_path.with_name(db_path.stem + "-queue.db")
        return Path("mezame-queue.db")


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Settings read once from the environment (tests build their own Settings instead)."""
    return Settings()
