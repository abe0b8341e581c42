"""Vectorised email checks agree with email-validator and is_role_local_part, value by value."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mezame.cleaning.normalize import (
    ROLE_LOCAL_PARTS,
    ROLE_PREFIXES,
    is_role_local_part,
    is_valid_email,
    normalize_email,
)
from mezame.quality import emails as quality_emails
from mezame.quality.emails import invalid_emails, plainly_valid, role_addresses

TRICKY = [
    "taro.yamada@example.co.jp",
    "Taro@Example.CO.JP",
    "a+tag@b.co",
    "a%b@x.jp",
    "a_b@x-y.jp",
    "a..b@x.jp",
    ".a@x.jp",
    "a.@x.jp",
    "a@x..jp",
    "a@-x.jp",
    "a@x-.jp",
    "a@x_y.jp",
    "a@x.jp.",
    "a@localhost",
    "a@x.local",
    "a@x.test",
    "a@x.invalid",
    "a@x.onion",
    "a@x.123",
    "a@x.co1",
    "a@x.c",
    "a@1.2.3.4",
    "a@[1.2.3.4]",
    "a@xn--abc.jp",
    "a@ab--cd.jp",
    "a'b@x.jp",
    '"quoted"@x.jp',
    "a b@x.jp",
    "a@b@c.jp",
    "@x.jp",
    "a@",
    "plainaddress",
    "山田@example.jp",
    "yamada@例え.jp",
    "ｙａｍａｄａ@example.jp",
    "a" * 64 + "@x.jp",
    "a" * 65 + "@x.jp",
    "a@" + "b" * 63 + ".jp",
    "a@" + "b" * 64 + ".jp",
]

# Addresses built from the characters that matter to the rules, in every arrangement.
_ATOM = st.text(alphabet="abzAZ09._+-%'", min_size=0, max_size=8)
_LABEL = st.text(alphabet="abz09-_", min_size=0, max_size=6)
_TLD = st.sampled_from(["jp", "com", "co", "c", "test", "local", "x1", "J", "onion", "123", ""])
_ADDRESS = st.builds(
    lambda local, labels, tld, at: f"{local}{at}{'.'.join([*labels, tld])}",
    _ATOM,
    st.lists(_LABEL, min_size=0, max_size=3),
    _TLD,
    st.sampled_from(["@", "@", "@", "@@", ""]),
)


@given(st.lists(_ADDRESS | st.text(max_size=20), min_size=1, max_size=40))
@settings(max_examples=300)
def test_every_plain_address_is_one_email_validator_accepts(addresses: list[str]) -> None:
    plain = plainly_valid(addresses)
    for address, is_plain in zip(addresses, plain, strict=True):
        if is_plain:
            assert is_valid_email(address), address


@given(st.lists(_ADDRESS, min_size=1, max_size=40))
@settings(max_examples=200)
def test_invalid_emails_is_email_validator_over_the_column(addresses: list[str]) -> None:
    flagged = invalid_emails(addresses)
    assert flagged.tolist() == [not is_valid_email(a) for a in addresses]


def test_tricky_addresses_get_email_validators_verdict() -> None:
    flagged = invalid_emails(TRICKY)
    assert flagged.tolist() == [not is_valid_email(a) for a in TRICKY]
    assert flagged.sum() > 15  # the list really is tricky


def test_plain_addresses_skip_email_validator(monkeypatch: pytest.MonkeyPatch) -> None:
    checked: list[str] = []

    def spy(address: str) -> bool:
        checked.append(address)
        return is_valid_email(address)

    monkeypatch.setattr(quality_emails, "is_valid_email", spy)
    column = ["a@x.jp", "b.c@y.co.jp", "a@x.jp", "a..b@x.jp", "a..b@x.jp", "山田@x.jp"]
    assert invalid_emails(column).tolist() == [False, False, False, True, True, False]
    assert sorted(checked) == ["a..b@x.jp", "山田@x.jp"]  # the rest, each distinct value once


def test_empty_column() -> None:
    assert invalid_emails([]).shape == (0,)
    assert invalid_emails([""]).tolist() == [True]
    assert plainly_valid(["", "a@x.jp", ""]).tolist() == [False, True, False]
    assert role_addresses([], local_parts=["info"], prefixes=[]).shape == (0,)


_ROLE_LOCAL = st.one_of(
    st.sampled_from(sorted(ROLE_LOCAL_PARTS)),
    st.builds(
        lambda word, suffix: word + suffix,
        st.sampled_from([*sorted(ROLE_LOCAL_PARTS), *ROLE_PREFIXES, "taro", "in", "sale"]),
        st.sampled_from(["", "2", "-tokyo", ".east", "_jp", "+news", "fo", "s", "12x"]),
    ),
    st.text(alphabet="abinfosale._-+0123", min_size=1, max_size=12),
)


@given(st.lists(_ROLE_LOCAL, min_size=1, max_size=30))
@settings(max_examples=300)
def test_role_addresses_follow_is_role_local_part(locals_: list[str]) -> None:
    addresses = [f"{local}@example.co.jp" for local in locals_]
    flagged = role_addresses(addresses, local_parts=ROLE_LOCAL_PARTS, prefixes=ROLE_PREFIXES)
    for address, is_role in zip(addresses, flagged, strict=True):
        parsed = normalize_email(address)
        assert parsed is not None
        assert is_role == is_role_local_part(parsed.local), address


def test_role_words_come_from_the_policy() -> None:
    column = ["Info@x.jp", "eigyo@x.jp", "yamada@x.jp", "SALES-tokyo@x.jp", "@x.jp"]
    default = role_addresses(column, local_parts=ROLE_LOCAL_PARTS, prefixes=ROLE_PREFIXES)
    assert default.tolist() == [True, True, False, True, False]
    custom = role_addresses(column, local_parts=["yamada"], prefixes=[])
    assert custom.tolist() == [False, False, True, False, False]
    assert isinstance(custom, np.ndarray) and custom.dtype == bool


def test_chunks_and_newlines_do_not_shift_verdicts(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(quality_emails, "_CHUNK", 7)
    column = [*TRICKY, "a\n@x.jp", "b@x.jp\n", "\n", "c@x.jp", *TRICKY[::-1]]
    assert invalid_emails(column).tolist() == [not is_valid_email(a) for a in column]
    assert plainly_valid(column)[len(TRICKY) : len(TRICKY) + 4].tolist() == [
        False,
        False,
        False,
        True,
    ]
