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
    # Reverse proxies whose X-Forwarded-For / -Proto are believed (comma-separated IPs or
    # networks, "*" for any): behind one, the login throttle must see the client's address,
    # not the proxy's, or one guesser would lock everybody out.
    forwarded_allow_ips: str = "127.0.0.1"

    smtp_host: str = "127.0.0.1"
    smtp_port: int = 25
    smtp_username: str = ""
    smtp_password: SecretStr = SecretStr("")
    smtp_starttls: bool = False
    smtp_use_tls: bool = False  # implicit TLS (port 465)
    smtp_timeout_seconds: float = 60.0
    # Persistent connections kept open to the SMTP server; each carries one message at a time.
    smtp_connections: int = Field(default=8, ge=1, le=100)
    # The relay's limits; 0 means none. Temporary failures retry with doubling delays.
    smtp_max_per_minute: int = Field(default=0, ge=0)
    smtp_max_per_hour: int = Field(default=0, ge=0)
    smtp_max_attempts: int = Field(default=5, ge=1, le=20)
    smtp_retry_base_seconds: float = Field(default=60.0, gt=0)

    # DKIM signing when a key is configured: an RSA PEM file, or for ed25519-sha256 the
    # base64 32-byte seed dkimpy reads. The public key goes in DNS at SELECTOR._domainkey.DOMAIN.
    dkim_domain: str = ""
    dkim_selector: str = ""
    dkim_private_key_file: Path | None = None
    dkim_algorithm: str = Field(default="rsa-sha256", pattern="^(rsa-sha256|ed25519-sha256)$")

    # Bounce mailbox (IMAP) read by `mezame bounces process --imap`.
    bounce_imap_host: str = ""
    bounce_imap_port: int = 993
    bounce_imap_username: str = ""
    bounce_imap_password: SecretStr = SecretStr("")
    bounce_imap_folder: str = "INBOX"
    # "ssl": TLS from the first byte (port 993); "starttls": upgrade on port 143. Never plain.
    bounce_imap_security: str = Field(default="ssl", pattern="^(ssl|starttls)$")
    # A private CA (an in-house mail server's certificate); empty: the system's CAs.
    bounce_imap_ca_file: Path | None = None

    # 特定電子メール法: every mail names the sender and a postal address.
    sender_name: str = "mezame"
    sender_email: str = "no-reply@example.jp"
    sender_address: str = ""
    # Where List-Unsubscribe mailto requests go; empty means the sender email.
    unsubscribe_email: str = ""
    # The booking page for "いつでも相談OK" ({{ booking.url }} in templates); empty: none.
    booking_url: str = ""

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
