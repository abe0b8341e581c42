"""Email checks over a whole column at once: syntax (email-validator, no DNS) and role mailboxes.

Pure. email-validator checks one address at a time (about 80 µs each), so calling it for a
million contacts takes minutes. Most addresses are plainly fine — ASCII letters, digits and
`._+-%`, one `@`, a dotted domain of letters, digits and single hyphens under an alphabetic
top-level label — and NumPy finds those for the whole column at once, on the UTF-8 bytes of
the addresses laid end to end. Only the rest (usually a few percent), each distinct value
once, go to email-validator (`is_valid_email`). Every address called plain here is one
email-validator accepts; tests/unit/test_quality_emails.py checks that property.
"""

from __future__ import annotations

import string
from collections.abc import Collection, Sequence

import numpy as np
import numpy.typing as npt
from email_validator import SPECIAL_USE_DOMAIN_NAMES
from numpy.dtypes import StringDType

from mezame.cleaning.normalize import is_valid_email

BoolArray = npt.NDArray[np.bool_]
IntArray = npt.NDArray[np.int64]
StringArray = npt.NDArray[np.str_]

_STRING = StringDType()
_DIGITS = "0123456789"
_MAX_LOCAL = 64  # RFC 5321
_MAX_PLAIN_DOMAIN = 63  # no label can then pass 63 characters; longer domains get the full check
_CHUNK = 200_000  # addresses per pass: keeps the byte arrays small and int32 offsets safe
_NEWLINE = ord("\n")  # joins the addresses; one holding a newline is not plain anyway


def _byte_class(characters: str) -> BoolArray:
    table = np.zeros(256, dtype=bool)
    table[[ord(c) for c in characters]] = True
    return table


_LETTER = _byte_class(string.ascii_letters)
_DOMAIN_BYTE = _byte_class(string.ascii_letters + string.digits + ".-")
_ADDRESS_BYTE = _byte_class(string.ascii_letters + string.digits + ".-_+%@")
# Two of these in a row make a dot-atom or a domain label invalid (.. .@ @. @- -. .- --) or
# are valid but rare (-@ in a local part): either way email-validator decides.
_PUNCTUATION = _byte_class(".-@")
_SPECIAL_TLDS = sorted(name.encode() for name in SPECIAL_USE_DOMAIN_NAMES if "." not in name)


def as_strings(values: Sequence[str]) -> StringArray:
    """A column of strings in NumPy's variable-width string dtype."""
    return np.asarray(values, dtype=_STRING)


def _counts(flags: BoolArray) -> IntArray:
    """Prefix sums: the flags in bytes [a, b) are counts[b] - counts[a]."""
    counts: IntArray = np.zeros(flags.size + 1, dtype=np.int64)
    np.cumsum(flags, out=counts[1:])
    return counts


def _plain_chunk(values: Sequence[str]) -> BoolArray:
    n = len(values)
    data = np.frombuffer("\n".join(values).encode("utf-8", "surrogatepass"), dtype=np.uint8)
    if data.size == 0:
        return np.zeros(n, dtype=bool)
    breaks = np.flatnonzero(data == _NEWLINE)
    if breaks.size != n - 1:  # some address holds a newline: check the others alone
        newline = np.strings.find(as_strings(values), np.asarray("\n", dtype=_STRING)) >= 0
        without = np.zeros(n, dtype=bool)
        keep = np.flatnonzero(~newline).tolist()
        without[keep] = _plain_chunk([values[i] for i in keep])
        return without
    starts = np.concatenate(([0], breaks + 1))
    ends = np.concatenate((breaks, [data.size]))

    def within(counts: IntArray, first: IntArray, stop: IntArray) -> IntArray:
        return counts[stop] - counts[np.minimum(first, stop)]

    odd = _counts(~_ADDRESS_BYTE[data])
    ats = _counts(data == ord("@"))
    plain: BoolArray = (within(odd, starts, ends) == 0) & (within(ats, starts, ends) == 1)
    # Where each address's "@" and last "." stand (meaningful where plain so far).
    at_bytes = np.flatnonzero(data == ord("@"))
    at = np.full(n, -1, dtype=np.int64)
    at[np.searchsorted(starts, at_bytes, side="right") - 1] = at_bytes
    dot_bytes = np.flatnonzero(data == ord("."))
    # The last dot before each end; -1 (the appended one) when there is none.
    last_dot = np.append(dot_bytes, -1)[np.searchsorted(dot_bytes, ends, side="left") - 1]
    local_length = at - starts
    domain_length = ends - at - 1
    plain &= (local_length >= 1) & (local_length <= _MAX_LOCAL)
    plain &= (domain_length <= _MAX_PLAIN_DOMAIN) & (last_dot > at)
    plain &= data[np.minimum(starts, data.size - 1)] != ord(".")
    punctuation = _PUNCTUATION[data]
    pairs = _counts(np.append(punctuation[:-1] & punctuation[1:], False))  # pair i = bytes i, i+1
    plain &= within(pairs, starts, np.maximum(ends - 1, starts)) == 0
    plain &= within(_counts(~_DOMAIN_BYTE[data]), at + 1, ends) == 0
    tld_length = ends - last_dot - 1
    plain &= (tld_length >= 2) & (within(_counts(~_LETTER[data]), last_dot + 1, ends) == 0)
    for name in _SPECIAL_TLDS:  # .local, .test …: never deliverable
        suspects = np.flatnonzero(plain & (tld_length == len(name)))
        if suspects.size:
            tld = data[last_dot[suspects, None] + 1 + np.arange(len(name))] | 0x20  # lower
            plain[suspects[(tld == np.frombuffer(name, dtype=np.uint8)).all(axis=1)]] = False
    return plain


def plainly_valid(emails: Sequence[str]) -> BoolArray:
    """Addresses of the common safe shape, all of which email-validator accepts."""
    if not emails:
        return np.zeros(0, dtype=bool)
    return np.concatenate(
        [_plain_chunk(emails[i : i + _CHUNK]) for i in range(0, len(emails), _CHUNK)]
    )


def invalid_emails(emails: Sequence[str]) -> BoolArray:
    """Which addresses email-validator rejects (syntax only): plain ones skip the call."""
    invalid = np.zeros(len(emails), dtype=bool)
    verdicts: dict[str, bool] = {}
    for i in np.flatnonzero(~plainly_valid(emails)).tolist():  # the few left, each value once
        email = emails[i]
        if email not in verdicts:
            verdicts[email] = not is_valid_email(email)
        invalid[i] = verdicts[email]
    return invalid


def role_addresses(
    emails: Sequence[str], *, local_parts: Collection[str], prefixes: Collection[str]
) -> BoolArray:
    """Shared mailboxes (info@, sales-tokyo@, support2@ …): the rule of is_role_local_part.

    The local part, lower-cased and without a +tag, is a role word, or is one followed by
    digits, or its first token (before . _ -) without digits is one of `prefixes`.
    """
    if not emails:
        return np.zeros(0, dtype=bool)
    column = as_strings(emails)
    local = np.strings.lower(np.strings.rpartition(column, np.asarray("@", dtype=_STRING))[0])
    base = np.strings.partition(local, np.asarray("+", dtype=_STRING))[0]
    bare = np.strings.rstrip(base, _DIGITS)
    first = base
    for separator in "._-":  # the text before the earliest of them
        first = np.strings.partition(first, np.asarray(separator, dtype=_STRING))[0]
    first = np.strings.rstrip(first, _DIGITS)
    words = as_strings(sorted(local_parts))
    role: BoolArray = (
        np.isin(base, words) | np.isin(bare, words) | np.isin(first, as_strings(sorted(prefixes)))
    )
    has_local: BoolArray = np.strings.str_len(local) > 0
    return role & has_local
