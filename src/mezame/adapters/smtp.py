"""Delivering messages: a pool of persistent aiosmtplib connections, and a recording fake.

Each connection carries one message at a time, so the pool size is the concurrency.
The conversation is split where exactly-once needs it: MAIL, RCPT and DATA first, then
`before_body()` (the sender durably marks the row `sending`), then the body. A failure
before the body is safe to retry; a lost connection after it leaves the outcome unknown.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol

import aiosmtplib
from aiosmtplib import SMTPException, SMTPResponseException, SMTPServerDisconnected

from mezame.config import Settings
from mezame.mail.ratelimit import RateLimits

BeforeBody = Callable[[], Awaitable[bool]]


class DeliveryResult(StrEnum):
    ACCEPTED = "accepted"  # 250 to the body
    TEMPORARY = "temporary"  # 4xx for this message: retry later
    CONNECTION = "connection"  # no usable connection, nothing of the message sent: retry now
    PERMANENT = "permanent"  # 5xx: never retry
    UNKNOWN = "unknown"  # the body left but no reply came back
    ABANDONED = "abandoned"  # before_body() said no (suppressed a moment ago)


@dataclass(frozen=True, slots=True)
class Delivery:
    result: DeliveryResult
    code: int | None = None
    reply: str = ""


class MailTransport(Protocol):
    """What the sender needs from an SMTP server (the pool, or the fake in tests)."""

    connections: int

    async def deliver(
        self, slot: int, *, sender: str, recipient: str, message: bytes, before_body: BeforeBody
    ) -> Delivery: ...

    async def close(self) -> None: ...


def data_payload(message: bytes) -> bytes:
    """The message as DATA carries it: CRLF-terminated, leading dots doubled, then ".\\r\\n"."""
    if not message.endswith(b"\r\n"):
        message += b"\r\n"
    if message.startswith(b"."):
        message = b"." + message
    return message.replace(b"\r\n.", b"\r\n..") + b".\r\n"


def _address_bytes(address: str) -> bytes:
    """An envelope address as sent; anything that could break the command line is refused."""
    if not address or any(c in address for c in "<> \r\n\x00") or not address.isascii():
        raise ValueError(f"unusable envelope address {address!r}")
    return address.encode("ascii")


class RateGate:
    """The relay's per-minute and per-hour limits, shared by every connection."""

    def __init__(self, limits: RateLimits, clock: Callable[[], float] = time.monotonic) -> None:
        self.limits = limits
        self.clock = clock
        self._lock = asyncio.Lock()

    async def wait_turn(self) -> None:
        if not self.limits.windows:
            return
        async with self._lock:
            while (delay := self.limits.wait_seconds(self.clock())) > 0:
                await asyncio.sleep(delay)
            self.limits.record(self.clock())


@dataclass
class SmtpSettings:
    host: str
    port: int
    username: str = ""
    password: str = ""
    starttls: bool = False
    use_tls: bool = False
    timeout: float = 60.0
    connections: int = 8
    per_minute: int = 0
    per_hour: int = 0


class SmtpPool:
    """Persistent connections to one SMTP server; slot i is used by one task at a time."""

    def __init__(self, settings: SmtpSettings) -> None:
        self.settings = settings
        self.connections = settings.connections
        self._clients: list[aiosmtplib.SMTP | None] = [None] * settings.connections
        self._gate = RateGate(
            RateLimits(per_minute=settings.per_minute, per_hour=settings.per_hour)
        )

    async def _client(self, slot: int) -> tuple[aiosmtplib.SMTP, bool]:
        """The slot's connection and whether it was used before (it may have gone stale)."""
        client = self._clients[slot]
        if client is not None and client.is_connected:
            return client, True
        s = self.settings
        client = aiosmtplib.SMTP(
            hostname=s.host,
            port=s.port,
            username=s.username or None,
            password=s.password or None,
            use_tls=s.use_tls,
            start_tls=s.starttls if not s.use_tls else False,
            timeout=s.timeout,
        )
        await client.connect()
        if client.last_ehlo_response is None:  # connect() greets only for STARTTLS or AUTH
            await client.ehlo()
        self._clients[slot] = client
        return client, False

    def _drop(self, slot: int) -> None:
        client = self._clients[slot]
        self._clients[slot] = None
        if client is not None:
            client.close()

    async def _reset(self, slot: int) -> None:
        client = self._clients[slot]
        if client is None:
            return
        try:
            await client.rset()
        except (SMTPException, OSError):
            self._drop(slot)

    async def _envelope(self, client: aiosmtplib.SMTP, sender: str, recipient: str) -> None:
        # Raw commands under one deadline: client.mail()/rcpt() re-parse both addresses and
        # start a timeout task per command, which costs more than the conversation itself.
        async with asyncio.timeout(self.settings.timeout):
            for command, accepted in (
                (b"MAIL FROM:<" + _address_bytes(sender) + b">", (250,)),
                (b"RCPT TO:<" + _address_bytes(recipient) + b">", (250, 251)),
                (b"DATA", (354,)),
            ):
                reply = await client.execute_command(command, timeout=None)
                if reply.code not in accepted:
                    raise SMTPResponseException(reply.code, reply.message)

    async def deliver(
        self, slot: int, *, sender: str, recipient: str, message: bytes, before_body: BeforeBody
    ) -> Delivery:
        await self._gate.wait_turn()
        for fresh_try in (False, True):
            try:
                client, reused = await self._client(slot)
            except (SMTPException, OSError) as exc:
                self._drop(slot)
                return Delivery(DeliveryResult.CONNECTION, None, f"connect: {exc}"[:500])
            try:
                await self._envelope(client, sender, recipient)
                break
            except SMTPResponseException as exc:
                if exc.code == 421:  # the server is closing this connection
                    self._drop(slot)
                    return Delivery(DeliveryResult.CONNECTION, exc.code, exc.message[:500])
                await self._reset(slot)
                result = DeliveryResult.TEMPORARY if exc.code < 500 else DeliveryResult.PERMANENT
                return Delivery(result, exc.code, exc.message[:500])
            except ValueError as exc:  # an address no SMTP server could take
                await self._reset(slot)
                return Delivery(DeliveryResult.PERMANENT, None, str(exc)[:500])
            except (SMTPException, OSError, TimeoutError) as exc:
                self._drop(slot)
                # A connection idle for a while is often closed by the server: reconnect once.
                if reused and not fresh_try and isinstance(exc, SMTPServerDisconnected | OSError):
                    continue
                return Delivery(
                    DeliveryResult.CONNECTION, None, f"{type(exc).__name__}: {exc}"[:500]
                )

        if not await before_body():
            self._drop(slot)  # mid-DATA there is no way back but closing the connection
            return Delivery(DeliveryResult.ABANDONED, None, "suppressed at send time")
        protocol = client.protocol
        try:
            if protocol is None:
                raise SMTPServerDisconnected("connection lost before the body")
            async with asyncio.timeout(self.settings.timeout):
                protocol.write(data_payload(message))
                reply = await protocol.read_response(timeout=None)
        except (SMTPException, OSError) as exc:
            self._drop(slot)
            return Delivery(DeliveryResult.UNKNOWN, None, f"{type(exc).__name__}: {exc}"[:500])
        if reply.code == 250:
            return Delivery(DeliveryResult.ACCEPTED, reply.code, reply.message[:500])
        result = DeliveryResult.TEMPORARY if reply.code < 500 else DeliveryResult.PERMANENT
        return Delivery(result, reply.code, reply.message[:500])

    async def close(self) -> None:
        for slot, client in enumerate(self._clients):
            if client is not None and client.is_connected:
                with contextlib.suppress(SMTPException, OSError):
                    await client.quit()
            self._clients[slot] = None


@dataclass
class RecordingTransport:
    """The fake: keeps every accepted message; `refuse` decides a reply per recipient."""

    connections: int = 4
    delivered: list[tuple[str, bytes]] = field(default_factory=list)
    refuse: Callable[[str], Delivery | None] = lambda _recipient: None
    # Called after before_body() said yes, just before the message counts as delivered.
    on_body: Callable[[str], None] = lambda _recipient: None

    async def deliver(
        self, slot: int, *, sender: str, recipient: str, message: bytes, before_body: BeforeBody
    ) -> Delivery:
        await asyncio.sleep(0)  # let other slots interleave, as a real server would
        refusal = self.refuse(recipient)
        if refusal is not None:
            return refusal
        if not await before_body():
            return Delivery(DeliveryResult.ABANDONED, None, "suppressed at send time")
        self.on_body(recipient)
        self.delivered.append((recipient, message))
        return Delivery(DeliveryResult.ACCEPTED, 250, "OK")

    async def close(self) -> None:
        return None


def pool_from_settings(settings: Settings) -> SmtpPool:
    """The pool for mezame's Settings (infrastructure: host, credentials, limits)."""
    return SmtpPool(
        SmtpSettings(
            host=settings.smtp_host,
            port=settings.smtp_port,
            username=settings.smtp_username,
            password=settings.smtp_password.get_secret_value(),
            starttls=settings.smtp_starttls,
            use_tls=settings.smtp_use_tls,
            timeout=settings.smtp_timeout_seconds,
            connections=settings.smtp_connections,
            per_minute=settings.smtp_max_per_minute,
            per_hour=settings.smtp_max_per_hour,
        )
    )
