"""Session IDs: the default factory."""

from __future__ import annotations

import uuid


def default_id_factory() -> str:
    """A random (version 4) UUID as text: 122 bits from the OS CSPRNG.

    The seed's default, ``str(uuid.uuid4())``::

        store = jamsession.open("memory", id_factory=jamsession.default_id_factory)

    .. versionadded:: 0.1
    """
    return str(uuid.uuid4())
