"""New session IDs: random, checked, and encrypted under the current key ring."""

import os
import uuid

import pytest

import jamsession
from jamsession import BaseAsyncSessionModule, default_id_factory
from jamsession.testing import check_id_entropy
from jamsession_memory import MemorySessions

#: Enough IDs to show they are distinct.
COUNT = 16
KEY = jamsession.generate_key()


def _is_uuid4_text(raw_id: str) -> bool:
    parsed = uuid.UUID(raw_id)
    return (4, uuid.RFC_4122, raw_id) == (parsed.version, parsed.variant, str(parsed))


def _crypt_store() -> MemorySessions:
    return MemorySessions(is_session_crypt=True, session_aes_secret=KEY)


def test_new_ids_are_distinct_uuid4_text() -> None:
    store = _crypt_store()
    raw_ids = [store._new_session_id()[0] for _ in range(3 * COUNT)]
    assert 3 * COUNT == len(set(raw_ids))
    assert all(map(_is_uuid4_text, raw_ids))


def test_without_crypt_each_id_comes_from_the_id_factory_and_is_its_own_token() -> None:
    store = MemorySessions()
    pairs = [store._new_session_id() for _ in range(COUNT)]
    assert all(_is_uuid4_text(raw_id) and raw_id == token for raw_id, token in pairs)


def test_new_ids_carry_122_random_bits() -> None:
    store = _crypt_store()
    report = check_id_entropy(lambda: store._new_session_id()[0], samples=20_000)
    measured = (report.distinct, report.random_bits, report.fixed_bits, report.biased_bits)
    assert (20_000, 122, 6, []) == measured


def test_tokens_of_new_ids_decrypt_to_them() -> None:
    store = _crypt_store()
    pairs = [store._new_session_id() for _ in range(COUNT + 1)]
    other = MemorySessions(is_session_crypt=True, session_aes_secret=KEY)
    assert [raw_id for raw_id, _ in pairs] == [other.__decode_session_id__(token) for _, token in pairs]


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_a_forked_child_makes_ids_of_its_own() -> None:
    store = _crypt_store()
    store._new_session_id()
    read_end, write_end = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover - runs in the child, which reports through the pipe
        try:
            os.write(write_end, " ".join(store._new_session_id()[0] for _ in range(4)).encode())
        finally:
            os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end) as pipe:
        in_child = set(pipe.read().split())
    os.waitpid(child, 0)
    in_parent = {store._new_session_id()[0] for _ in range(COUNT)}
    assert 4 == len(in_child)
    assert set() == in_child & in_parent


def test_tokens_are_made_under_the_current_key_ring() -> None:
    old, new = jamsession.generate_key(), jamsession.generate_key()
    store = MemorySessions(is_session_crypt=True, session_aes_secret=old)
    store._keyring = MemorySessions(is_session_crypt=True, session_aes_secret=new)._keyring
    raw_id, token = store._new_session_id()
    only_new = MemorySessions(is_session_crypt=True, session_aes_secret=new)
    assert raw_id == only_new.__decode_session_id__(token)


def test_turning_crypt_on_gives_encrypted_tokens_at_once() -> None:
    store = MemorySessions(session_aes_secret=KEY)
    store._new_session_id()
    store.is_session_crypt = True
    raw_id, token = store._new_session_id()
    assert raw_id != token
    assert raw_id == store.__decode_session_id__(token)


def test_an_id_factory_makes_every_id() -> None:
    ids = iter(["a", "b"])
    store = MemorySessions(id_factory=lambda: next(ids), is_session_crypt=True, session_aes_secret=KEY)
    pairs = [store._new_session_id(), store._new_session_id()]
    assert ["a", "b"] == [raw_id for raw_id, _ in pairs] == [store.__decode_session_id__(t) for _, t in pairs]


def test_subclasses_that_make_ids_or_tokens_their_own_way_are_used() -> None:
    class Prefixed(MemorySessions):
        @property
        def id(self) -> str:
            return "own-" + default_id_factory()

        def __encode_session_id__(self, data: str) -> str:
            return "sealed-" + BaseAsyncSessionModule.__encode_session_id__(self, data)

    store = Prefixed(is_session_crypt=True, session_aes_secret=KEY)
    raw_id, token = store._new_session_id()
    assert (True, True) == (raw_id.startswith("own-"), token.startswith("sealed-"))


async def test_create_and_rework_hand_out_new_ids() -> None:
    store = _crypt_store()
    tokens = [await store.create("alice", {"i": i}) for i in range(COUNT + 2)]
    reworked = [await store.rework(token) for token in tokens]
    assert 2 * (COUNT + 2) == len(set(tokens) | set(reworked))
    assert [{"i": i} for i in range(COUNT + 2)] == [await store.get(token) for token in reworked]
