"""DKIM signing with dkimpy (rsa-sha256 or ed25519-sha256), when a key is configured."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import dkim

from mezame.config import Settings

# Signed so no relay can alter them unnoticed; List-Unsubscribe and -Post must be signed
# for one-click unsubscribe to be honoured (RFC 8058 §4).
SIGNED_HEADERS = (
    b"from",
    b"to",
    b"subject",
    b"date",
    b"message-id",
    b"mime-version",
    b"content-type",
    b"list-unsubscribe",
    b"list-unsubscribe-post",
)


@dataclass(frozen=True)
class DkimSigner:
    domain: str
    selector: str
    private_key: bytes
    algorithm: str = "rsa-sha256"

    def sign(self, message: bytes) -> bytes:
        """The message with a DKIM-Signature header in front."""
        signature = dkim.sign(
            message,
            self.selector.encode("ascii"),
            self.domain.encode("ascii"),
            self.private_key,
            canonicalize=(b"relaxed", b"relaxed"),
            signature_algorithm=self.algorithm.encode("ascii"),
            include_headers=list(SIGNED_HEADERS),
            linesep=b"\r\n",
        )
        return bytes(signature) + message


def signer_from_settings(settings: Settings) -> DkimSigner | None:
    """The signer for the configured key, or None when DKIM is not set up."""
    key_file = settings.dkim_private_key_file
    if not (settings.dkim_domain and settings.dkim_selector and key_file):
        return None
    try:
        key = Path(key_file).read_bytes()
    except OSError as exc:
        raise ValueError(f"MEZAME_DKIM_PRIVATE_KEY_FILE {key_file}: {exc.strerror}") from exc
    return DkimSigner(
        domain=settings.dkim_domain,
        selector=settings.dkim_selector,
        private_key=key.strip() if settings.dkim_algorithm == "ed25519-sha256" else key,
        algorithm=settings.dkim_algorithm,
    )
