import base64
import contextlib
import hashlib
import hmac
import os
import uuid

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from jamsession import (
    InvalidKeyError,
    InvalidSessionToken,
    JamSessionEmptyAESKey,
    UnknownKeyError,
    generate_key,
)
from jamsession._crypto import PURPOSE_DATA, PURPOSE_ID, KeyRing, b64decode, b64encode, parse_key
from jamsession_memory import MemorySessions


def fixed_key(n: int) -> bytes:
    """Key ``n`` of a fixed series, so which keys share an id is the same on every run."""
    return bytes([n]) * 32


def key_id(key: bytes) -> int:
    """The key id as documented: HMAC-SHA256(key, b"jamsession/key-id/v1"), first byte, low 7 bits."""
    return hmac.new(key, b"jamsession/key-id/v1", hashlib.sha256).digest()[0] & 0x7F


def first_format(key: bytes, plaintext: bytes, purpose: bytes) -> bytes:
    """A ciphertext as the first format made it, and as stored data and issued cookies still hold it."""
    nonce = os.urandom(12)
    return b"\x01" + nonce + AESGCM(key).encrypt(nonce, plaintext, purpose)


def colliding_keys() -> tuple[bytes, bytes]:
    """The first two keys of the series whose ids are the same (one pair in 128 is)."""
    seen: dict[int, bytes] = {}
    for n in range(256):
        key = fixed_key(n)
        if key_id(key) in seen:
            return seen[key_id(key)], key
        seen[key_id(key)] = key
    raise AssertionError("no two of 256 keys share a 7-bit id")


def test_generated_keys_are_256_bit_url_safe_base64() -> None:
    key = generate_key()
    assert 32 == len(base64.urlsafe_b64decode(key))
    assert generate_key() != key


@pytest.mark.parametrize(
    "form", ["raw", "bytearray", "memoryview", "text", "text-unpadded", "text-bytes", "standard-alphabet"]
)
def test_keys_are_accepted_raw_or_as_base64_text(form: str) -> None:
    raw = bytes(range(200, 232))  # both alphabets' last two digits occur in its text
    text = base64.urlsafe_b64encode(raw).decode()
    given = {
        "raw": raw,
        "bytearray": bytearray(raw),
        "memoryview": memoryview(raw),
        "text": text,
        "text-unpadded": text.rstrip("="),
        "text-bytes": text.encode(),
        "standard-alphabet": base64.b64encode(raw).decode(),
    }[form]
    assert raw == parse_key(given)


@pytest.mark.parametrize(
    "bad",
    [b"short", "not base64 !!", "A" * 44, b"\x00" * 31, "", generate_key()[:-4] + "!!!=", 42, None],
)
def test_wrong_keys_are_refused_with_the_fix(bad: object) -> None:
    with pytest.raises(InvalidKeyError, match="jamsession keygen"):
        parse_key(bad)


@pytest.mark.parametrize("bad", [42, [generate_key(), None], {"key": generate_key()}])
def test_a_secret_of_the_wrong_kind_is_refused_with_the_fix(bad: object) -> None:
    with pytest.raises(InvalidKeyError, match="jamsession keygen"):
        KeyRing(bad)  # type: ignore[arg-type] # wrong types on purpose


def test_no_key_means_empty_key_error() -> None:
    with pytest.raises(JamSessionEmptyAESKey):
        KeyRing([])


def test_round_trip_and_purpose_binding() -> None:
    ring = KeyRing(generate_key())
    sealed = ring.encrypt(b"payload", PURPOSE_ID)
    assert b"payload" == ring.decrypt(sealed, PURPOSE_ID)
    with pytest.raises(InvalidSessionToken):
        ring.decrypt(sealed, PURPOSE_DATA)


def test_rotation_newest_encrypts_all_decrypt() -> None:
    old, new = generate_key(), generate_key()
    sealed_with_old = KeyRing(old).encrypt(b"x", PURPOSE_ID)
    rotated = KeyRing([old, new])
    assert b"x" == rotated.decrypt(sealed_with_old, PURPOSE_ID)
    # New ciphertexts are made with the last (newest) key.
    assert b"x" == KeyRing(new).decrypt(rotated.encrypt(b"x", PURPOSE_ID), PURPOSE_ID)
    with pytest.raises(InvalidSessionToken):
        KeyRing(old).decrypt(rotated.encrypt(b"x", PURPOSE_ID), PURPOSE_ID)


@pytest.mark.parametrize("made", ["named", "first format"])
def test_every_truncation_and_bit_flip_is_detected(made: str) -> None:
    key = parse_key(generate_key())
    ring = KeyRing(key)
    if made == "named":
        sealed = ring.encrypt(b"session-id", PURPOSE_ID)
    else:
        sealed = first_format(key, b"session-id", PURPOSE_ID)
    for end in range(len(sealed)):
        with pytest.raises(InvalidSessionToken):
            ring.decrypt(sealed[:end], PURPOSE_ID)
    for bit in range(len(sealed) * 8):
        flipped = bytearray(sealed)
        flipped[bit // 8] ^= 1 << (bit % 8)
        with pytest.raises(InvalidSessionToken):
            ring.decrypt(bytes(flipped), PURPOSE_ID)
        if bit >= 8:
            # Past the key id, the key is known: a failure there is tampering, never an unknown key.
            with pytest.raises(InvalidSessionToken) as caught:
                ring.decrypt(bytes(flipped), PURPOSE_ID)
            assert InvalidSessionToken is type(caught.value)


def test_nonces_differ_between_encryptions() -> None:
    ring = KeyRing(generate_key())
    assert ring.encrypt(b"same", PURPOSE_ID) != ring.encrypt(b"same", PURPOSE_ID)


@pytest.mark.parametrize("text", ["a", "ab=c", "YQ==", "a+b/", "é", "\x00", "\ud800", "ab cd"])
def test_b64decode_refuses_anything_but_url_safe_base64(text: str) -> None:
    with pytest.raises(InvalidSessionToken):
        b64decode(text)


def test_b64_round_trip() -> None:
    for size in range(40):
        data = bytes(range(size))
        assert data == b64decode(b64encode(data))


def test_each_token_has_exactly_one_spelling() -> None:
    token = b64encode(bytes(range(65)))
    assert bytes(range(65)) == b64decode(token)
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    same = []
    for digit in alphabet.replace(token[-1], ""):
        with contextlib.suppress(InvalidSessionToken):
            if b64decode(token[:-1] + digit) == bytes(range(65)):
                same.append(digit)
    assert [] == same


def test_the_ring_says_which_ciphertexts_an_older_key_made() -> None:
    old, new = generate_key(), generate_key()
    before = KeyRing(old)
    during = KeyRing([old, new])
    made_before = before.encrypt(b"payload", PURPOSE_ID)
    made_during = during.encrypt(b"payload", PURPOSE_ID)
    assert (b"payload", False) == before.decrypt_noting_age(made_before, PURPOSE_ID)
    assert (b"payload", True) == during.decrypt_noting_age(made_before, PURPOSE_ID)
    assert (b"payload", False) == during.decrypt_noting_age(made_during, PURPOSE_ID)
    assert (False, True) == (before.rotating, during.rotating)
    with pytest.raises(InvalidSessionToken):
        before.decrypt_noting_age(made_during, PURPOSE_ID)


def test_the_newest_key_names_itself_in_the_first_byte() -> None:
    old, new = fixed_key(0), fixed_key(1)
    assert key_id(old) != key_id(new)
    sealed = KeyRing([old, new]).encrypt(b"payload", PURPOSE_ID)
    assert 0x80 | key_id(new) == sealed[0]
    assert [0x80 | key_id(new), 0x80 | key_id(old)] == [
        blob[0] for blob in KeyRing([old, new]).encrypt_under_each(b"payload", PURPOSE_ID)
    ]
    # The key id takes the version's byte: an encrypted uuid4 is as long as before.
    assert 87 == len(b64encode(KeyRing(new).encrypt(str(uuid.uuid4()).encode(), PURPOSE_ID)))


@pytest.mark.parametrize("holding", [[1], [1, 2], [2, 1]], ids=["one key", "rotating", "rotating back"])
def test_a_ciphertext_under_a_key_the_ring_lacks_is_an_unknown_key(holding: list[int]) -> None:
    keys = [fixed_key(n) for n in (0, *holding)]
    assert len(keys) == len({key_id(key) for key in keys})
    sealed = KeyRing(keys[0]).encrypt(b"payload", PURPOSE_ID)
    ring = KeyRing(keys[1:])
    with pytest.raises(UnknownKeyError) as caught:
        ring.decrypt(sealed, PURPOSE_ID)
    with pytest.raises(UnknownKeyError):
        ring.decrypt_noting_age(sealed, PURPOSE_ID)
    assert isinstance(caught.value, InvalidSessionToken)
    assert "ciphertext sealed under a key this store does not hold" == str(caught.value)


def test_the_key_id_byte_is_authenticated() -> None:
    first, second = fixed_key(0), fixed_key(1)
    ring = KeyRing([first, second])
    sealed = ring.encrypt(b"payload", PURPOSE_ID)
    for header in (0x80 | key_id(first), 0x01):
        # Named for the other key, or passed off as the first format that every key is tried on.
        with pytest.raises(InvalidSessionToken) as caught:
            ring.decrypt(bytes([header]) + sealed[1:], PURPOSE_ID)
        assert InvalidSessionToken is type(caught.value)
    assert b"payload" == ring.decrypt(sealed, PURPOSE_ID)


@pytest.mark.parametrize(
    "holding", [[0], [0, 1], [1, 0]], ids=["one key", "made by the oldest", "by the newest"]
)
def test_first_format_ciphertexts_still_decrypt(holding: list[int]) -> None:
    keys = [fixed_key(n) for n in holding]
    ring = KeyRing(keys)
    made = first_format(fixed_key(0), b"payload", PURPOSE_DATA)
    assert b"payload" == ring.decrypt(made, PURPOSE_DATA)
    assert (b"payload", keys[-1] != fixed_key(0)) == ring.decrypt_noting_age(made, PURPOSE_DATA)
    assert KeyRing.is_ciphertext(made)
    with pytest.raises(InvalidSessionToken):
        ring.decrypt(made, PURPOSE_ID)


def test_a_first_format_ciphertext_under_a_foreign_key_reads_as_tampered() -> None:
    made = first_format(fixed_key(0), b"payload", PURPOSE_ID)
    with pytest.raises(InvalidSessionToken) as caught:
        KeyRing([fixed_key(1), fixed_key(2)]).decrypt(made, PURPOSE_ID)
    assert InvalidSessionToken is type(caught.value)


def test_two_keys_of_one_id_each_decrypt_their_own() -> None:
    older, newer = colliding_keys()
    assert key_id(older) == key_id(newer)
    ring = KeyRing([older, newer])
    by_older, by_newer = KeyRing(older).encrypt(b"old", PURPOSE_ID), ring.encrypt(b"new", PURPOSE_ID)
    assert by_older[0] == by_newer[0]
    assert (b"old", True) == ring.decrypt_noting_age(by_older, PURPOSE_ID)
    assert (b"new", False) == ring.decrypt_noting_age(by_newer, PURPOSE_ID)
    assert b"old" == KeyRing([newer, older]).decrypt(by_older, PURPOSE_ID)
    # Alone, a key of the same id tries and fails: tampered, since the id did name a key it holds.
    with pytest.raises(InvalidSessionToken) as caught:
        KeyRing(newer).decrypt(by_older, PURPOSE_ID)
    assert InvalidSessionToken is type(caught.value)


@pytest.mark.parametrize(
    ("first", "shaped"),
    [(0x01, True), (0x80, True), (0xFF, True), (0x00, False), (0x02, False), (0x7F, False)],
)
def test_ciphertexts_of_either_format_are_told_from_other_bytes(first: int, shaped: bool) -> None:
    assert shaped == KeyRing.is_ciphertext(bytes([first]) + bytes(28))
    assert not KeyRing.is_ciphertext(bytes([first]) + bytes(27))


async def test_a_store_reads_first_format_tokens_and_data() -> None:
    key = fixed_key(5)
    store = MemorySessions(is_session_crypt=True, session_aes_secret=key)
    token = await store.create("alice", {"n": 1})
    raw_id = store.__decode_session_id__(token)
    issued_before = b64encode(first_format(key, raw_id.encode(), PURPOSE_ID))
    assert {"n": 1} == await store.get(issued_before)
    entry = await store.load(issued_before)
    assert entry is not None
    assert not entry.needs_reissue
    stored_before = first_format(key, b'{"n":2}', PURPOSE_DATA)
    assert {"n": 2} == store._load_data(stored_before)
