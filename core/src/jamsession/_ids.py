"""Session IDs: the default factory, and which raw IDs a store accepts."""

from __future__ import annotations

import uuid

from jamsession._errors import ConfigError

#: Longest token, or raw ID, accepted; anything longer is refused before any decoding work.
MAX_TOKEN_LENGTH = 512


def default_id_factory() -> str:
    """A random (version 4) UUID as text: 122 bits from the OS CSPRNG.

    The seed's default, ``str(uuid.uuid4())``::

        store = jamsession.open("memory", id_factory=jamsession.default_id_factory)

    .. versionadded:: 0.1
    """
    return str(uuid.uuid4())


def is_raw_id(text: str) -> bool:
    """Whether ``text`` can be a raw ID: printable ASCII of 1 to :data:`MAX_TOKEN_LENGTH` characters.

    Anything else (NUL, surrogates, an empty string) is foreign.
    """
    return 0 < len(text) <= MAX_TOKEN_LENGTH and text.isascii() and text.isprintable()


def checked_raw_id(raw_id: object) -> str:
    """``raw_id``, if ``get`` would accept it back; :class:`ConfigError` naming the fix otherwise."""
    if isinstance(raw_id, str) and is_raw_id(raw_id):
        return raw_id
    raise ConfigError(
        f"id_factory must return printable ASCII text of 1 to {MAX_TOKEN_LENGTH} characters, "
        f"not a {type(raw_id).__name__}"
        + (f" of {len(raw_id)} characters" if isinstance(raw_id, str) else "")
    )
