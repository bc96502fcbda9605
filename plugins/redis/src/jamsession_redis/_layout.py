"""Where sessions live in Redis: key names, hash tags, and raw IDs that carry their tag.

Every key of one session key's sessions shares one Redis Cluster hash slot,
so that ``rework`` is one script on one node, and ``clear`` and
``list_sessions`` a script per page on one node. Redis picks a key's slot
from the text between its first ``{`` and the next ``}``: the *tag*. Under
a prefix ``P`` (``"jamsession:"`` by default, which may hold neither
brace)::

    P{T}s:<raw id>   hash   d: data, k: session key, c: created, e: expires ("" = never),
                            i: the session key's digest, f: the data's format (see
                            ``RecordSessionModule.data_format``; "" or absent: unknown)
    P{T}k:<digest>   zset   the raw IDs of one session key, scored by their expiry in ms

``digest`` is the first 128 bits of SHA-256 of the session key (UTF-8), in
hex, and the tag ``T`` its first four hex digits: 65,536 tags, spread over
Redis Cluster's 16,384 slots. Both are one-way: the session key is found in
no key name and no ID, only in the ``k`` field of the hash.

``get`` knows nothing but the raw ID behind the token, so the raw ID carries
its tag: it is the ``id_factory``'s ID (a uuid4 by default: 122 bits from
the OS CSPRNG), a dot and the tag::

    0b8c2d61-9f24-4c1e-8a9e-3f1d8c1b2a4e.3fa9

The tag adds no randomness and takes none away. With crypt on, the client
sees only the AES-GCM encryption of the raw ID; with crypt off it sees the
tag, 16 bits of a hash of the session key: enough to tell that two tokens
probably belong to the same session key, never enough to recover the key.
"""

from __future__ import annotations

import hashlib

#: Hex digits of the key's digest that make the hash tag.
TAG_LENGTH = 4
#: Hex digits of the key's digest that name its index.
DIGEST_LENGTH = 32
_SEPARATOR = "."
_HEX = frozenset("0123456789abcdef")


def digest(session_key: str) -> str:
    """The one-way digest of a session key that names its index; its first digits are the tag."""
    # surrogatepass: a session key is any str, lone surrogates included.
    return hashlib.sha256(session_key.encode("utf-8", "surrogatepass")).hexdigest()[:DIGEST_LENGTH]


def tag_of_raw_id(raw_id: str) -> str | None:
    """The tag a raw ID of this plugin ends with; ``None`` if it has none, so it is none of ours."""
    tag = raw_id[-TAG_LENGTH:]
    if len(raw_id) > TAG_LENGTH + 1 and raw_id[-TAG_LENGTH - 1] == _SEPARATOR and _HEX.issuperset(tag):
        return tag
    return None


def tagged(random_id: str, tag: str) -> str:
    """A raw ID: the ID factory's random ID, then the tag."""
    return f"{random_id}{_SEPARATOR}{tag}"


class Layout:
    """The key names under one prefix."""

    __slots__ = ("prefix",)

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix

    def session(self, raw_id: str, tag: str) -> bytes:
        """The hash of one session."""
        return f"{self.prefix}{{{tag}}}s:{raw_id}".encode()

    def sessions(self, tag: str) -> bytes:
        """What the raw ID is appended to, to name a session's hash."""
        return f"{self.prefix}{{{tag}}}s:".encode()

    def index(self, key_digest: str) -> bytes:
        """The sorted set of one session key's raw IDs."""
        return f"{self.prefix}{{{key_digest[:TAG_LENGTH]}}}k:{key_digest}".encode()

    def indexes(self, tag: str) -> bytes:
        """What a digest is appended to, to name an index."""
        return f"{self.prefix}{{{tag}}}k:".encode()
