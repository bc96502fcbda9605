"""``StoreStateMachine``: a store against a reference model, driven by hypothesis.

Hypothesis picks sequences of create / get / update / delete / rework /
clear / list_sessions / purge calls, load / patch / login / revoke calls
where the store supports entries, and clock moves, runs them on a real
store and on a plain dict that says what the contract promises, and fails
on the first divergence, shrunk to the shortest sequence that shows it.
"""

from __future__ import annotations

import asyncio
import copy
import json
from collections.abc import Callable, Coroutine
from contextlib import AbstractAsyncContextManager, AsyncExitStack
from dataclasses import dataclass
from typing import Any, ClassVar, TypeVar

from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    initialize,
    invariant,
    multiple,
    precondition,
    rule,
    run_state_machine_as_test,
)

from jamsession._base import BaseAsyncSessionModule
from jamsession._errors import JamSessionNotFound, SerializationError
from jamsession._handles import session_handle
from jamsession.testing._clock import FakeClock

#: Opens an empty, isolated store; closing the context releases it.
StoreFactory = Callable[[], AbstractAsyncContextManager[BaseAsyncSessionModule]]

_T = TypeVar("_T")

#: Session keys hypothesis chooses from: few, so that keys share sessions; an odd one and a hostile one.
SESSION_KEYS = ["alice", "bob", "Zoë 😀", '{"$ne": null}']

#: The clock starts far in the future, on a whole second: times stay exact in every
#: storage, and a server's own expiry sweep (which runs on the real time) never fires first.
CLOCK_START = float(4_000_000_000)

#: Clock moves around a 60-second TTL, its boundary included.
CLOCK_STEPS = [1, 29, 30, 59, 60, 61, 3600]

_TEXT = st.text(st.characters(exclude_categories=["Cs"]), max_size=8)
_FIELDS = st.sampled_from(["user", "cart", "ключ", ""])


def session_data(supported_types: tuple[type, ...]) -> st.SearchStrategy[dict[str, Any]]:
    """Small session data made of the JSON-like types among ``supported_types``.

    Kept shallow on purpose: the serializer's own conformance suite covers
    rich values; here data only has to tell sessions and versions apart, and
    small draws keep shrinking a failure to its shortest form quick.

    .. versionadded:: 0.1
    """
    leaves: list[st.SearchStrategy[Any]] = []
    if type(None) in supported_types:
        leaves.append(st.none())
    if bool in supported_types:
        leaves.append(st.booleans())
    if int in supported_types:
        leaves.append(st.integers(-(2**53), 2**53))
    if float in supported_types:
        leaves.append(st.floats(allow_nan=False, allow_infinity=False))
    if str in supported_types:
        leaves.append(_TEXT)
    values: st.SearchStrategy[Any] = st.one_of(leaves) if leaves else st.nothing()
    if list in supported_types:
        values = values | st.lists(values, max_size=3)
    return st.dictionaries(_FIELDS, values, max_size=3)


@dataclass
class _Entry:
    session_key: str
    data: dict[str, Any]
    expires_at: float | None


def _canonical(data: dict[str, Any]) -> str:
    return json.dumps(data, sort_keys=True)


class StoreStateMachine(RuleBasedStateMachine):
    """Runs a store side by side with a reference model of the contract; any divergence fails.

    Bind it to a factory of empty, isolated stores with :meth:`bind`, then run
    it with :func:`run_store_state_machine` or through the bound class's
    ``TestCase``. Every example gets a fresh store and its own event loop, so
    the factory must create its connections inside the returned context.
    Expiry, sliding expiry, listing and purging are exercised where the store's
    class declares them (a :class:`~jamsession.testing.FakeClock` is set as
    ``store.clock``).

    .. versionadded:: 0.1
    """

    open_store: ClassVar[StoreFactory]

    tokens = Bundle("tokens")

    @classmethod
    def bind(cls, open_store: StoreFactory) -> type[StoreStateMachine]:
        """A subclass that opens its stores with ``open_store``."""
        return type(f"{cls.__name__}For{_factory_name(open_store)}", (cls,), {"open_store": open_store})

    def __init__(self) -> None:
        super().__init__()
        self._loop = asyncio.new_event_loop()
        self._exit = AsyncExitStack()
        try:
            # The class attribute is a plain function: fetch it from the class so it is not bound.
            self.store = self._run(self._exit.enter_async_context(type(self).open_store()))
        except BaseException:
            self._loop.close()
            raise
        self.model: dict[str, _Entry] = {}
        self.ttl: float | None = None
        self.sliding = False
        self.clock = FakeClock(CLOCK_START)
        self._data = session_data(self.store.serializer.supported_types)

    def _run(self, coroutine: Coroutine[Any, Any, _T]) -> _T:
        return self._loop.run_until_complete(coroutine)

    # -- the model ------------------------------------------------------------------

    def _live(self, token: str) -> _Entry | None:
        entry = self.model.get(token)
        if entry is None or (entry.expires_at is not None and entry.expires_at <= self.clock.now):
            return None
        return entry

    def _touch(self, entry: _Entry) -> None:
        if self.sliding and self.ttl is not None:
            entry.expires_at = self.clock.now + self.ttl

    # -- setup ----------------------------------------------------------------------

    @initialize(ttl=st.sampled_from([None, 60.0]), sliding=st.booleans())
    def configure(self, ttl: float | None, sliding: bool) -> None:
        if not self.store.supports_ttl:
            return
        store: Any = self.store
        store.clock = self.clock
        store.default_ttl = self.ttl = ttl
        if ttl is not None and sliding and self.store.supports_sliding_expiry:
            store.sliding_expiry = self.sliding = True

    # -- the six methods ------------------------------------------------------------

    @rule(target=tokens, session_key=st.sampled_from(SESSION_KEYS), data=st.data())
    def create(self, session_key: str, data: st.DataObject) -> str:
        value = data.draw(self._data, label="data")
        token = self._run(self.store.create(session_key, value))
        assert isinstance(token, str)
        assert token not in self.model, "a fresh session got a token already handed out"
        expires_at = None if self.ttl is None else self.clock.now + self.ttl
        self.model[token] = _Entry(session_key, copy.deepcopy(value), expires_at)
        return token

    @rule(token=tokens)
    def get(self, token: str) -> None:
        entry = self._live(token)
        expected = None if entry is None else entry.data
        assert expected == self._run(self.store.get(token))
        if entry is not None:
            self._touch(entry)

    @rule(token=tokens, data=st.data())
    def update(self, token: str, data: st.DataObject) -> None:
        value = data.draw(self._data, label="data")
        entry = self._live(token)
        if entry is None:
            try:
                self._run(self.store.update(token, value))
            except JamSessionNotFound:
                return
            raise AssertionError("update of a dead session did not raise JamSessionNotFound")
        self._run(self.store.update(token, value))
        entry.data = copy.deepcopy(value)
        self._touch(entry)

    @rule(token=tokens)
    def update_with_unstorable_data(self, token: str) -> None:
        try:
            self._run(self.store.update(token, {"handle": object()}))
        except SerializationError:
            return
        except JamSessionNotFound:
            # Either error is right for a dead session; a live one must keep its data.
            assert self._live(token) is None, "unstorable data reported as a missing session"
            return
        raise AssertionError("unstorable data was accepted")

    @rule(token=tokens)
    def delete(self, token: str) -> None:
        self._run(self.store.delete(token))
        self.model.pop(token, None)

    @rule(target=tokens, token=tokens)
    def rework(self, token: str) -> Any:
        entry = self._live(token)
        if entry is None:
            try:
                self._run(self.store.rework(token))
            except JamSessionNotFound:
                return multiple()
            raise AssertionError("rework of a dead session did not raise JamSessionNotFound")
        new_token = self._run(self.store.rework(token))
        assert new_token != token
        assert new_token not in self.model, "rework gave a token already handed out"
        # The data and the absolute expiry move; the old token is dead.
        self.model[new_token] = self.model.pop(token)
        return new_token

    @rule(session_key=st.sampled_from(SESSION_KEYS))
    def clear(self, session_key: str) -> None:
        self._run(self.store.clear(session_key))
        for token in [t for t, entry in self.model.items() if entry.session_key == session_key]:
            del self.model[token]

    # -- optional: entries ----------------------------------------------------------

    def _handle(self, token: str) -> str:
        raw_id = self.store._resolve_session_id(token)
        assert raw_id is not None, "a token the store handed out no longer decodes"
        return session_handle(raw_id)

    @precondition(lambda self: getattr(self.store, "supports_entries", False))
    @rule(token=tokens)
    def load(self, token: str) -> None:
        entry = self._live(token)
        loaded = self._run(self.store.load(token))  # type: ignore[attr-defined]
        if entry is None:
            assert loaded is None
            return
        self._touch(entry)
        assert (entry.session_key, entry.data, entry.expires_at, self._handle(token)) == (
            loaded.session_key,
            loaded.data,
            loaded.expires_at,
            loaded.handle,
        )

    @precondition(lambda self: getattr(self.store, "supports_entries", False))
    @rule(token=tokens, data=st.data(), removed=st.lists(_FIELDS, max_size=2))
    def patch(self, token: str, data: st.DataObject, removed: list[str]) -> None:
        changes = data.draw(self._data, label="changes")
        entry = self._live(token)
        if entry is None:
            try:
                self._run(self.store.patch(token, changes, removed))  # type: ignore[attr-defined]
            except JamSessionNotFound:
                return
            raise AssertionError("patch of a dead session did not raise JamSessionNotFound")
        patched = self._run(self.store.patch(token, changes, removed))  # type: ignore[attr-defined]
        entry.data.update(copy.deepcopy(changes))
        for key in removed:
            entry.data.pop(key, None)
        self._touch(entry)
        assert (entry.data, entry.expires_at) == (patched.data, patched.expires_at)

    @precondition(lambda self: getattr(self.store, "supports_entries", False))
    @rule(target=tokens, token=tokens, session_key=st.sampled_from(SESSION_KEYS), data=st.data())
    def login(self, token: str, session_key: str, data: st.DataObject) -> Any:
        value = data.draw(st.none() | self._data, label="data")
        store: Any = self.store
        entry = self._live(token)
        if entry is None:
            try:
                self._run(store.rework(token, session_key=session_key, data=value))
            except JamSessionNotFound:
                return multiple()
            raise AssertionError("rework of a dead session to a key did not raise JamSessionNotFound")
        new_token = self._run(store.rework(token, session_key=session_key, data=value))
        assert new_token not in self.model, "rework gave a token already handed out"
        # Key and data change; the absolute expiry moves with them; the old token is dead.
        del self.model[token]
        data_after = entry.data if value is None else copy.deepcopy(value)
        self.model[new_token] = _Entry(session_key, data_after, entry.expires_at)
        return new_token

    @precondition(lambda self: getattr(self.store, "supports_entries", False))
    @rule(token=tokens, session_key=st.sampled_from(SESSION_KEYS))
    def revoke(self, token: str, session_key: str) -> None:
        entry = self._live(token)
        ended = self._run(self.store.revoke(session_key, self._handle(token)))  # type: ignore[attr-defined]
        assert (entry is not None and entry.session_key == session_key) == ended
        if ended:
            del self.model[token]

    # -- optional features ----------------------------------------------------------

    @precondition(lambda self: self.store.supports_listing)
    @invariant()
    def listings_match_the_model(self) -> None:
        # After every step: each key's live sessions, their data and their absolute expiry.
        for session_key in SESSION_KEYS:
            listed = self._run(self.store.list_sessions(session_key))  # type: ignore[attr-defined]
            live = [e for t, e in self.model.items() if e.session_key == session_key and self._live(t)]
            assert sorted((_canonical(e.data), e.expires_at) for e in live) == sorted(
                (_canonical(info.data), info.expires_at) for info in listed
            ), session_key
            assert all(session_key == info.session_key for info in listed)
            if getattr(self.store, "supports_entries", False):
                mine = [t for t, e in self.model.items() if e.session_key == session_key and self._live(t)]
                assert sorted(map(self._handle, mine)) == sorted(info.handle for info in listed)

    @precondition(lambda self: self.ttl is not None)
    @rule(seconds=st.sampled_from(CLOCK_STEPS))
    def advance_clock(self, seconds: int) -> None:
        self.clock.advance(seconds)

    @precondition(lambda self: self.store.supports_purge)
    @rule()
    def purge_expired(self) -> None:
        removed = self._run(self.store.purge_expired())  # type: ignore[attr-defined]
        expired = [token for token in self.model if self._live(token) is None]
        # Some backends reclaim expired records on their own, so fewer may be left to purge.
        assert 0 <= removed <= len(expired)
        for token in expired:
            del self.model[token]

    # -- the end of each example ----------------------------------------------------

    def teardown(self) -> None:
        try:
            if hasattr(self, "store"):
                # Every token ever handed out, live or dead, still reads as the model says.
                for token in list(self.model):
                    entry = self._live(token)
                    assert (None if entry is None else entry.data) == self._run(self.store.get(token))
        finally:
            try:
                self._run(self._exit.aclose())
            finally:
                self._loop.close()


def _factory_name(open_store: StoreFactory) -> str:
    name = getattr(open_store, "__name__", "Store")
    return "".join(part.capitalize() for part in name.split("_")) or "Store"


def run_store_state_machine(
    open_store: StoreFactory, *, max_examples: int = 25, steps: int = 40, **hypothesis_settings: Any
) -> None:
    """Run :class:`StoreStateMachine` on stores from ``open_store``; raises on a divergence.

    Args:
        open_store: Opens an empty, isolated store (an async context manager).
        max_examples: How many sequences of calls to try.
        steps: How many calls at most in one sequence.
        hypothesis_settings: Any other :class:`hypothesis.settings`, such as
            ``derandomize=True`` for the same sequences on every run.

    .. versionadded:: 0.1
    """
    options: dict[str, Any] = {
        "deadline": None,  # real storage takes what it takes; only the model decides pass or fail
        "database": None,  # nothing written to the working directory
        "suppress_health_check": [HealthCheck.too_slow],
        "report_multiple_bugs": False,
        # The explain phase reruns a failure hundreds of times; shrinking alone is quick and enough.
        "phases": [Phase.explicit, Phase.generate, Phase.shrink],
    }
    options.update(hypothesis_settings)
    run_state_machine_as_test(
        StoreStateMachine.bind(open_store),
        settings=settings(max_examples=max_examples, stateful_step_count=steps, **options),
    )
