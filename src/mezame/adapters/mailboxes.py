"""Reading the bounce mailbox: a Maildir on disk, or an IMAP folder.

Messages are read without being marked; the caller marks them seen only after the
database committed what they said, so a crash in between reads them again (harmless:
intake is idempotent).
"""

from __future__ import annotations

import imaplib
import mailbox
import ssl
from collections.abc import Iterable, Iterator
from pathlib import Path

from mezame.config import Settings


def read_maildir(path: Path) -> Iterator[tuple[str, bytes]]:
    """(key, raw bytes) of every message not yet marked seen ('S' flag)."""
    if not (path / "new").is_dir() and not (path / "cur").is_dir():
        raise ValueError(f"{path}: not a Maildir (no new/ or cur/ folder)")
    box = mailbox.Maildir(str(path), create=False)
    for key in box.iterkeys():
        message = box.get_message(key)
        if "S" in message.get_flags():
            continue
        yield key, box.get_bytes(key)


def mark_maildir_seen(path: Path, keys: Iterable[str]) -> None:
    box = mailbox.Maildir(str(path), create=False)
    for key in keys:
        message = box.get_message(key)
        message.set_subdir("cur")
        message.add_flag("S")
        box[key] = message


class ImapBounces:
    """The configured IMAP folder; UNSEEN messages are fetched with BODY.PEEK."""

    def __init__(self, settings: Settings) -> None:
        if not settings.bounce_imap_host:
            raise ValueError("MEZAME_BOUNCE_IMAP_HOST is not set")
        self.settings = settings
        tls = ssl.create_default_context(
            cafile=str(settings.bounce_imap_ca_file) if settings.bounce_imap_ca_file else None
        )
        host, port = settings.bounce_imap_host, settings.bounce_imap_port
        # The password only ever crosses an encrypted, verified connection.
        if settings.bounce_imap_security == "starttls":
            self.client = imaplib.IMAP4(host, port)
            self.client.starttls(ssl_context=tls)
        else:
            self.client = imaplib.IMAP4_SSL(host, port, ssl_context=tls)
        self.client.login(
            settings.bounce_imap_username, settings.bounce_imap_password.get_secret_value()
        )
        status, _ = self.client.select(settings.bounce_imap_folder)
        if status != "OK":
            raise ValueError(f"IMAP folder {settings.bounce_imap_folder!r} cannot be opened")

    def unseen(self) -> Iterator[tuple[str, bytes]]:
        status, data = self.client.uid("SEARCH", "UNSEEN")
        if status != "OK" or not data or not data[0]:
            return
        for uid in data[0].split():
            status, parts = self.client.uid("FETCH", uid, "(BODY.PEEK[])")
            if status == "OK" and parts and isinstance(parts[0], tuple):
                yield uid.decode(), bytes(parts[0][1])

    def mark_seen(self, uids: Iterable[str]) -> None:
        for uid in uids:
            self.client.uid("STORE", uid, "+FLAGS", "(\\Seen)")

    def close(self) -> None:
        try:
            self.client.close()
        finally:
            self.client.logout()
