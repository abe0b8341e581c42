"""Machine opens (Apple MPP, scanners) are told apart from readers' opens."""

from __future__ import annotations

import pytest

from mezame.mail.opens import PREFETCH_SECONDS, is_machine_open

IPHONE_MAIL = "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15"
GMAIL_PROXY = (
    "Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)"
)
OUTLOOK = "Mozilla/4.0 (compatible; ms-office; MSOffice 16)"


@pytest.mark.parametrize(
    "agent",
    [
        "Mozilla/5.0",
        "",
        "  ",
        "python-requests/2.32",
        "Barracuda Sentinel",
        "Mimecast URL prefetch",
        "curl/8.5.0",
        "Mozilla/5.0 (compatible; bingbot/2.0)",
    ],
)
def test_proxies_scanners_and_silent_agents_are_machines(agent: str) -> None:
    assert is_machine_open(agent, seconds_after_send=3600)


@pytest.mark.parametrize("agent", [IPHONE_MAIL, GMAIL_PROXY, OUTLOOK])
def test_mail_clients_and_gmails_on_open_proxy_are_readers(agent: str) -> None:
    # Gmail's proxy fetches when the reader opens the mail: a human open.
    assert not is_machine_open(agent, seconds_after_send=3600)
    assert not is_machine_open(agent, seconds_after_send=None)


def test_an_open_within_seconds_of_the_hand_over_is_a_prefetch() -> None:
    assert is_machine_open(IPHONE_MAIL, seconds_after_send=PREFETCH_SECONDS - 1)
    assert not is_machine_open(IPHONE_MAIL, seconds_after_send=PREFETCH_SECONDS + 1)
    # A clock skew that puts the open before the send is not evidence either way.
    assert not is_machine_open(IPHONE_MAIL, seconds_after_send=-2)
