import base64
import contextlib

import pytest

from jamsession import InvalidKeyError, InvalidSessionToken, JamSessionEmptyAESKey, generate_key
from jamsession._crypto import PURPOSE_DATA, PURPOSE_ID, KeyRing, b64decode, b64encode, parse_key


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


def test_every_truncation_and_bit_flip_is_detected() -> None:
    ring = KeyRing(generate_key())
    sealed = ring.encrypt(b"session-id", PURPOSE_ID)
    for end in range(len(sealed)):
        with pytest.raises(InvalidSessionToken):
            ring.decrypt(sealed[:end], PURPOSE_ID)
    for bit in range(len(sealed) * 8):
        flipped = bytearray(sealed)
        flipped[bit // 8] ^= 1 << (bit % 8)
        with pytest.raises(InvalidSessionToken):
            ring.decrypt(bytes(flipped), PURPOSE_ID)


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
