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
reverse. A ciphertext is ``header (1 byte) || nonce (12) || ciphertext || tag (16)``:

* ``0x80 | key id``: what the newest key makes. The key id is the low 7 bits
  of the first byte of HMAC-SHA256(key, ``b"jamsession/key-id/v1"``), a value
  that reveals nothing usable about the key. The header byte is part of the
  associated data too, so it cannot be changed undetected. Only the keys of
  that id are tried (two keys of a ring share an id once in 128: both are
  tried), and a ciphertext whose id names none of them is
  :class:`~jamsession.UnknownKeyError`, told apart from tampering at no cost.
* ``0x01``: the first version, with no key id, still read (stored data and
  issued cookies): every key is tried, and one that fails under all is tampered.

Naming the key in the byte that named the version keeps an encrypted uuid4 at
87 characters. Keys rotate like itsdangerous' secret keys: give a list ordered
**oldest to newest**; the newest encrypts, every key decrypts.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import os
from collections.abc import Sequence

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from jamsession._errors import InvalidKeyError, InvalidSessionToken, JamSessionEmptyAESKey, UnknownKeyError

KEY_BYTES = 32
_NONCE_BYTES = 12
_TAG_BYTES = 16
#: The first byte of a first-version ciphertext, which names no key.
_UNNAMED = 0x01
#: Set in the first byte of a ciphertext whose low 7 bits are its key's id.
_NAMED = 0x80
_KEY_ID_LABEL = b"jamsession/key-id/v1"
_OVERHEAD = 1 + _NONCE_BYTES + _TAG_BYTES

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


def key_header(key: bytes) -> int:
    """The first byte of what ``key`` encrypts: ``0x80`` and the key's 7-bit id.

    Derived through HMAC under a label of its own, so it is no use in
    recovering the key, and every deployment derives the same id for a key.
    """
    return _NAMED | (hmac.digest(key, _KEY_ID_LABEL, "sha256")[0] & 0x7F)


class KeyRing:
    """AES-256-GCM over a list of keys, oldest to newest: the newest encrypts, all decrypt."""

    __slots__ = ("_by_header", "_ciphers", "_first", "_header", "_keys", "_newest", "rotating")

    def __init__(self, secret: SecretInput | None) -> None:
        keys = parse_secret(secret)
        if not keys:
            raise JamSessionEmptyAESKey()
        # Newest first, as tokens made with the current key are the common case.
        self._adopt([(key_header(key), AESGCM(key)) for key in reversed(keys)])

    def _adopt(self, keys: list[tuple[int, AESGCM]]) -> None:
        """Hold ``keys`` (header byte, cipher), newest first; their ids are looked up here, once."""
        self._keys = keys
        self._ciphers = [cipher for _, cipher in keys]
        self._header, self._newest = keys[0]
        self._first = bytes((self._header,))
        by_header: dict[int, list[AESGCM]] = {}
        for header, cipher in keys:
            by_header.setdefault(header, []).append(cipher)
        self._by_header = by_header
        #: Whether the ring holds older keys too, so a ciphertext may need re-encrypting.
        self.rotating = len(keys) > 1

    @property
    def key_count(self) -> int:
        """How many keys the ring holds."""
        return len(self._ciphers)

    def encrypt(self, plaintext: bytes, purpose: bytes) -> bytes:
        """Encrypt ``plaintext`` with the newest key, its id in the first byte."""
        nonce = os.urandom(_NONCE_BYTES)
        first = self._first
        return b"".join((first, nonce, self._newest.encrypt(nonce, plaintext, first + purpose)))

    def encrypt_under_each(self, plaintext: bytes, purpose: bytes) -> list[bytes]:
        """``plaintext`` encrypted under every key of the ring, newest first.

        What tells whether another ring reads everything this one made.
        """
        return [_seal(header, cipher, plaintext, purpose) for header, cipher in self._keys]

    @staticmethod
    def is_ciphertext(blob: bytes) -> bool:
        """Whether ``blob`` is shaped like a ciphertext of ours (a known first byte, room for nonce and tag).

        One that is, yet fails :meth:`decrypt`, was altered or sealed under
        another key; one that is not is malformed.
        """
        return len(blob) >= _OVERHEAD and (blob[0] == _UNNAMED or blob[0] & _NAMED != 0)

    def decrypt(self, blob: bytes, purpose: bytes) -> bytes:
        """Decrypt ``blob`` with whichever key made it; :class:`InvalidSessionToken` otherwise.

        Raises:
            UnknownKeyError: ``blob`` names a key the ring does not hold.
            InvalidSessionToken: ``blob`` is not a ciphertext, or fails
                authentication under the keys that could have made it.
        """
        if not self.rotating and len(blob) >= _OVERHEAD and blob[0] == self._header:
            # One key, the common case: every read of a session comes this way.
            try:
                return self._newest.decrypt(
                    blob[1 : 1 + _NONCE_BYTES], blob[1 + _NONCE_BYTES :], self._first + purpose
                )
            except InvalidTag:
                raise InvalidSessionToken("ciphertext fails authentication under its key") from None
        return self.decrypt_noting_age(blob, purpose)[0]

    def decrypt_noting_age(self, blob: bytes, purpose: bytes) -> tuple[bytes, bool]:
        """Like :meth:`decrypt`, and whether an older key than the newest made ``blob``.

        What was made under an older key is due to be encrypted again under
        the newest, before the older key is retired.
        """
        if len(blob) < _OVERHEAD:
            raise InvalidSessionToken("not a jamsession ciphertext")
        header = blob[0]
        if header & _NAMED:
            candidates = self._by_header.get(header)
            if candidates is None:
                raise UnknownKeyError("ciphertext sealed under a key this store does not hold")
            associated = blob[:1] + purpose
        elif header == _UNNAMED:
            candidates, associated = self._ciphers, purpose
        else:
            raise InvalidSessionToken("not a jamsession ciphertext")
        nonce, sealed = blob[1 : 1 + _NONCE_BYTES], blob[1 + _NONCE_BYTES :]
        for cipher in candidates:
            try:
                return cipher.decrypt(nonce, sealed, associated), cipher is not self._newest
            except InvalidTag:
                continue
        raise InvalidSessionToken("ciphertext fails authentication under every key that could have made it")


def _seal(header: int, cipher: AESGCM, plaintext: bytes, purpose: bytes) -> bytes:
    """``header || nonce || ciphertext || tag``, the header byte bound in the associated data."""
    nonce = os.urandom(_NONCE_BYTES)
    first = bytes((header,))
    return b"".join((first, nonce, cipher.encrypt(nonce, plaintext, first + purpose)))


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
