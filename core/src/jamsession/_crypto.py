"""Authenticated encryption of session IDs and session data.

Why AES-256-GCM and not AES-SIV: GCM is the AEAD every platform accelerates
(AES-NI with carry-less multiply), it takes exactly the 256-bit key users are
given by ``jamsession keygen``, and its 16-byte tag plus 12-byte nonce keep an
encrypted uuid4 token at 87 URL-safe characters. SIV's advantage, tolerance of
repeated nonces, buys nothing here: nonces are 96 random bits from the OS
CSPRNG, and the sessions one key encrypts stay far below the 2**32 messages
per key that NIST SP 800-38D allows for random nonces (rotate keys well
before that). SIV would also need a 512-bit key for the same strength.

Every ciphertext is bound to its purpose through the associated data, so an
encrypted session ID can never be passed off as encrypted session data or the
reverse. A token is ``version (1 byte) || nonce (12) || ciphertext || tag (16)``.

Keys rotate like itsdangerous' secret keys: give a list ordered **oldest to
newest**; the newest encrypts, every key decrypts.
"""

from __future__ import annotations

import base64
import binascii
import os
from collections.abc import Sequence

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from jamsession._errors import InvalidKeyError, InvalidSessionToken, JamSessionEmptyAESKey

KEY_BYTES = 32
_NONCE_BYTES = 12
_TAG_BYTES = 16
_VERSION = b"\x01"
_OVERHEAD = len(_VERSION) + _NONCE_BYTES + _TAG_BYTES

#: Associated data naming what a ciphertext is, so one cannot stand in for another.
PURPOSE_ID = b"jamsession/session-id/v1"
PURPOSE_DATA = b"jamsession/session-data/v1"

_TO_URL_SAFE = bytes.maketrans(b"+/", b"-_")
# URL-safe to standard alphabet; "+", "/" and "=" become "*", which strict decoding refuses.
_TO_STANDARD = bytes.maketrans(b"-_+/=", b"+/***")
#: The padding strict decoding needs, by the text's length modulo 4 (``None``: no length of base64).
_PADDING = (b"", None, b"==", b"=")
_DIGITS = {
    digit: value
    for value, digit in enumerate("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
}
#: The bits of the last digit that carry no data, by the text's length modulo 4.
_UNUSED_BITS = {2: 0b1111, 3: 0b11}

_KEY_HINT = (
    "32 raw bytes or their URL-safe base64 text (44 characters); generate one with `jamsession keygen`"
)

KeyInput = bytes | bytearray | memoryview | str
SecretInput = KeyInput | Sequence[KeyInput]


def generate_key() -> str:
    """Return a fresh 256-bit key as URL-safe base64 text (what ``jamsession keygen`` prints).

    .. versionadded:: 0.1
    """
    return base64.urlsafe_b64encode(os.urandom(KEY_BYTES)).decode("ascii")


def parse_key(key: object) -> bytes:
    """Return the 32 raw bytes of ``key``, given raw or as URL-safe base64 text."""
    if isinstance(key, (bytearray, memoryview)):
        key = bytes(key)
    if not isinstance(key, (bytes, str)):
        raise InvalidKeyError(f"a key must be bytes or str, not {type(key).__name__}; {_KEY_HINT}")
    if isinstance(key, bytes) and len(key) == KEY_BYTES:
        return key
    text = key.decode("ascii", "replace") if isinstance(key, bytes) else key
    # The standard alphabet is accepted too (``openssl rand -base64 32``), but
    # a character in neither is a typo, not something to skip.
    text = text.strip().replace("-", "+").replace("_", "/")
    try:
        raw = base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) != KEY_BYTES:
        raise InvalidKeyError(f"session_aes_secret must be {_KEY_HINT}")
    return raw


def parse_secret(secret: object) -> list[bytes]:
    """Return the raw keys of ``secret``, oldest first; empty when there is none."""
    if secret is None:
        return []
    if isinstance(secret, (bytes, str, bytearray, memoryview)):
        return [] if not secret else [parse_key(secret)]
    if not isinstance(secret, Sequence):
        raise InvalidKeyError(
            f"session_aes_secret must be a key or a list of keys, not {type(secret).__name__}; {_KEY_HINT}"
        )
    return [parse_key(key) for key in secret]


class KeyRing:
    """AES-256-GCM over a list of keys, oldest to newest: the newest encrypts, all decrypt."""

    __slots__ = ("_ciphers", "_newest", "rotating")

    def __init__(self, secret: SecretInput | None) -> None:
        keys = parse_secret(secret)
        if not keys:
            raise JamSessionEmptyAESKey()
        # Newest first, as tokens made with the current key are the common case.
        self._ciphers = [AESGCM(key) for key in reversed(keys)]
        self._newest = self._ciphers[0]
        #: Whether the ring holds older keys too, so a ciphertext may need re-encrypting.
        self.rotating = len(self._ciphers) > 1

    @property
    def key_count(self) -> int:
        """How many keys the ring holds."""
        return len(self._ciphers)

    def encrypt(self, plaintext: bytes, purpose: bytes) -> bytes:
        """Encrypt ``plaintext`` with the newest key."""
        nonce = os.urandom(_NONCE_BYTES)
        return b"".join((_VERSION, nonce, self._newest.encrypt(nonce, plaintext, purpose)))

    def encrypt_under_each(self, plaintext: bytes, purpose: bytes) -> list[bytes]:
        """``plaintext`` encrypted under every key of the ring, newest first.

        What tells whether another ring reads everything this one made.
        """
        result = []
        for cipher in self._ciphers:
            nonce = os.urandom(_NONCE_BYTES)
            result.append(b"".join((_VERSION, nonce, cipher.encrypt(nonce, plaintext, purpose))))
        return result

    @staticmethod
    def is_ciphertext(blob: bytes) -> bool:
        """Whether ``blob`` is shaped like a ciphertext of ours (version byte, room for nonce and tag).

        One that is, yet fails :meth:`decrypt`, was altered or sealed under
        another key; one that is not is malformed.
        """
        return len(blob) >= _OVERHEAD and blob[:1] == _VERSION

    def decrypt(self, blob: bytes, purpose: bytes) -> bytes:
        """Decrypt ``blob`` with whichever key made it; :class:`InvalidSessionToken` otherwise."""
        if len(blob) < _OVERHEAD or blob[:1] != _VERSION:
            raise InvalidSessionToken("not a jamsession ciphertext")
        if not self.rotating:
            # One key, the common case: every read of a session comes this way.
            try:
                return self._newest.decrypt(blob[1 : 1 + _NONCE_BYTES], blob[1 + _NONCE_BYTES :], purpose)
            except InvalidTag:
                raise InvalidSessionToken("ciphertext fails authentication under every key") from None
        return self.decrypt_noting_age(blob, purpose)[0]

    def decrypt_noting_age(self, blob: bytes, purpose: bytes) -> tuple[bytes, bool]:
        """Like :meth:`decrypt`, and whether an older key than the newest made ``blob``.

        What was made under an older key is due to be encrypted again under
        the newest, before the older key is retired.
        """
        if len(blob) < _OVERHEAD or blob[:1] != _VERSION:
            raise InvalidSessionToken("not a jamsession ciphertext")
        nonce, sealed = blob[1 : 1 + _NONCE_BYTES], blob[1 + _NONCE_BYTES :]
        for cipher in self._ciphers:
            try:
                return cipher.decrypt(nonce, sealed, purpose), cipher is not self._newest
            except InvalidTag:
                continue
        raise InvalidSessionToken("ciphertext fails authentication under every key")


def b64encode(data: bytes) -> str:
    """URL- and cookie-safe base64 without padding."""
    return binascii.b2a_base64(data, newline=False).translate(_TO_URL_SAFE).rstrip(b"=").decode("ascii")


def b64decode(text: str) -> bytes:
    """Inverse of :func:`b64encode`; :class:`InvalidSessionToken` for anything else."""
    # One spelling per token: only the URL-safe alphabet, no padding, and a
    # last digit whose unused bits are zero (as b64encode writes it). Strict
    # decoding refuses any other character, padding included (see _TO_STANDARD).
    tail = len(text) % 4
    padding = _PADDING[tail]
    if padding is None or (tail and _DIGITS.get(text[-1], 0) & _UNUSED_BITS[tail]):
        raise InvalidSessionToken("not the canonical spelling of a token")
    try:
        return binascii.a2b_base64(text.encode("ascii").translate(_TO_STANDARD) + padding, strict_mode=True)
    except (UnicodeEncodeError, binascii.Error):
        raise InvalidSessionToken("not URL-safe base64") from None
