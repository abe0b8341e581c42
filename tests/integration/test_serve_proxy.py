"""`mezame serve` behind a reverse proxy: the login throttle counts the client, not the proxy."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from mezame.models import LoginAttempt

CLIENT = "203.0.113.7"  # the browser's address, as the proxy reports it


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def _served(db: Path, forwarded_allow_ips: str) -> Iterator[str]:
    port = _free_port()
    env = {
        **os.environ,
        "MEZAME_DATABASE_URL": f"sqlite:///{db}",
        "MEZAME_SECRET_KEY": "proxy-test-secret-0123456789",
        "MEZAME_FORWARDED_ALLOW_IPS": forwarded_allow_ips,
    }
    mezame = str(Path(sys.executable).with_name("mezame"))
    server = subprocess.Popen(
        [mezame, "serve", "--no-worker", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            assert server.poll() is None, server.communicate()[1]
            try:
                httpx.get(f"{base}/login", timeout=1)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "mezame serve did not start"
                time.sleep(0.1)
        yield base
    finally:
        server.terminate()
        server.wait(timeout=10)


def _failed_login_from(base: str) -> None:
    with httpx.Client(base_url=base, headers={"X-Forwarded-For": CLIENT}) as client:
        form = client.get("/login").text
        token = re.search(r'name="csrf_token" value="([^"]+)"', form)
        assert token is not None
        reply = client.post(
            "/login",
            data={"email": "nobody@example.jp", "password": "wrong", "csrf_token": token[1]},
        )
        assert reply.status_code == 400


@pytest.mark.parametrize(
    ("trusted", "recorded"),
    [("127.0.0.1", CLIENT), ("192.0.2.1", "127.0.0.1")],
    ids=["proxy-trusted", "proxy-not-trusted"],
)
def test_login_attempts_carry_the_address_a_trusted_proxy_forwards(
    sqlite_engine: Engine, trusted: str, recorded: str
) -> None:
    db = Path(str(sqlite_engine.url.database))
    with _served(db, trusted) as base:
        _failed_login_from(base)
    with Session(sqlite_engine) as s:
        assert s.scalars(select(LoginAttempt.client_ip)).all() == [recorded]
