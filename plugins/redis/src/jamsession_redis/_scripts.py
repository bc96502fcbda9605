"""The Lua scripts behind the storage primitives: one script, one round trip, one atomic step each.

Redis runs a script without running anything else meanwhile, so each
primitive checks and changes its keys with nothing in between: a replace
cannot write to a session removed a moment before, and of two concurrent
moves of one session only the first finds it. Every key a script touches
carries the same hash tag (see :mod:`jamsession_redis._layout`), so on
Redis Cluster each script runs on the one node that owns that slot.

Whether a session has expired is decided by the ``now`` the caller passes,
from the store's clock, as for every jamsession backend; Redis's own expiry
(``PEXPIREAT``, rounded up to the millisecond, so it never drops a session
the store's clock still calls live) reclaims the memory: nothing needs
purging. An index forgets an ID only once Redis's clock says its hash is
gone, so ``clear`` reaches every session that any application server,
whatever its clock, could still read.

Scripts are sent by SHA-1 (``EVALSHA``); a server that does not know one
yet (a restart, a failover, another node) is sent the script itself.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Final

from jamsession_redis._wire import pack, pack_words


class Script:
    """A Lua script and its SHA-1, by which servers that have seen it run it."""

    __slots__ = ("_heads", "name", "sha", "source")

    def __init__(self, name: str, source: str) -> None:
        self.name = name
        self.source = source
        # SHA-1 because it is how Redis names scripts, not for security.
        self.sha = hashlib.sha1(source.encode(), usedforsecurity=False).hexdigest()
        # The packed EVALSHA and EVAL words, by number of keys: the same on every call.
        self._heads: dict[tuple[bool, int], bytes] = {}

    def packed(
        self, keys: Sequence[bytes], args: Sequence[bytes | str | int], *, by_sha: bool = True
    ) -> bytes:
        """``EVALSHA`` (or, not ``by_sha``, ``EVAL``) of this script, packed in the Redis protocol."""
        head = self._heads.get((by_sha, len(keys)))
        if head is None:
            body = self.sha if by_sha else self.source
            head = pack_words(b"EVALSHA" if by_sha else b"EVAL", body.encode(), b"%d" % len(keys))
            self._heads[by_sha, len(keys)] = head
        return pack(head, 3, (*keys, *args))


# Is an expiry ('' = never) after ARGV[1], the caller's now?
_LIVE = """
local function live(expires)
  return expires == '' or tonumber(expires) > tonumber(ARGV[1])
end
"""

# May this store read data in the format ``format`` (false: stored before formats were)?
# ``formats`` holds the formats it reads, each between newlines.
_READABLE = """
local function readable(format, formats)
  return not format or format == '' or string.find(formats, '\\n' .. format .. '\\n', 1, true) ~= nil
end
"""

# Moves a session's expiry to ARGV[2] (seconds) / ARGV[3] (ms), its index entry with it.
_EXTEND = """
local function extend(session, index, raw_id)
  redis.call('HSET', session, 'e', ARGV[2])
  redis.call('PEXPIREAT', session, ARGV[3])
  redis.call('ZADD', index, 'XX', ARGV[3], raw_id)
  redis.call('PEXPIREAT', index, ARGV[3], 'GT')
end
"""

#: KEYS: session, index. ARGV: session key, data, created, expires ('' = never), its ms, raw id, digest,
#: data format.
#: Returns 1, or -1 when the raw ID is in use by another session.
INSERT: Final = Script(
    "insert",
    """
if redis.call('EXISTS', KEYS[1]) == 1 then
  -- The same session resent after a lost reply went through; anything else reuses an ID.
  local held = redis.call('HMGET', KEYS[1], 'd', 'c')
  if held[1] == ARGV[2] and held[2] == ARGV[3] then
    return 1
  end
  return -1
end
local clock = redis.call('TIME')
local server_ms = clock[1] * 1000 + math.floor(clock[2] / 1000)
-- Forget the IDs whose hash Redis has already expired: keeps the index small.
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', '(' .. server_ms)
local fresh = redis.call('EXISTS', KEYS[2]) == 0
redis.call(
  'HSET', KEYS[1], 'd', ARGV[2], 'k', ARGV[1], 'c', ARGV[3], 'e', ARGV[4], 'i', ARGV[7], 'f', ARGV[8]
)
if ARGV[4] == '' then
  redis.call('ZADD', KEYS[2], '+inf', ARGV[6])
  redis.call('PERSIST', KEYS[2])
  return 1
end
redis.call('PEXPIREAT', KEYS[1], ARGV[5])
redis.call('ZADD', KEYS[2], ARGV[5], ARGV[6])
if fresh then
  redis.call('PEXPIREAT', KEYS[2], ARGV[5])
else
  -- Never shortens it; an index without expiry (a session that never expires) keeps none.
  redis.call('PEXPIREAT', KEYS[2], ARGV[5], 'GT')
end
return 1
""",
)

#: KEYS: session. ARGV: now, new expiry ('' keeps it), its ms, raw id, index prefix, readable formats.
#: Returns the data or nil.
FETCH: Final = Script(
    "fetch",
    _LIVE
    + _READABLE
    + _EXTEND
    + """
local found = redis.call('HMGET', KEYS[1], 'd', 'e', 'i', 'f')
if not found[1] or not live(found[2]) or not readable(found[4], ARGV[6]) then
  return false
end
if ARGV[2] ~= '' then
  extend(KEYS[1], ARGV[5] .. found[3], ARGV[4])
end
return found[1]
""",
)

#: KEYS: session. ARGV: now, new expiry ('' keeps it), its ms, raw id, index prefix, readable formats.
#: Returns data, session key, created, expires (as stored once done), data format, or nil.
FETCH_FULL: Final = Script(
    "fetch_full",
    _LIVE
    + _READABLE
    + _EXTEND
    + """
local found = redis.call('HMGET', KEYS[1], 'd', 'k', 'c', 'e', 'i', 'f')
if not found[1] or not live(found[4]) or not readable(found[6], ARGV[6]) then
  return false
end
if ARGV[2] ~= '' then
  extend(KEYS[1], ARGV[5] .. found[5], ARGV[4])
  found[4] = ARGV[2]
end
return {found[1], found[2], found[3], found[4], found[6] or ''}
""",
)

#: KEYS: session. ARGV: now, new expiry ('' keeps it), its ms, raw id, index prefix, expected, data,
#: readable formats, data format.
#: Returns 1 (swapped), 0 (live, other bytes) or -1 (no live session).
SWAP: Final = Script(
    "swap",
    _LIVE
    + _READABLE
    + _EXTEND
    + """
local found = redis.call('HMGET', KEYS[1], 'd', 'e', 'i', 'f')
if not found[1] or not live(found[2]) or not readable(found[4], ARGV[8]) then
  return -1
end
if found[1] ~= ARGV[6] then
  return 0
end
redis.call('HSET', KEYS[1], 'd', ARGV[7], 'f', ARGV[9])
if ARGV[2] ~= '' then
  extend(KEYS[1], ARGV[5] .. found[3], ARGV[4])
end
return 1
""",
)

#: KEYS: session. ARGV: now, new expiry ('' keeps it), its ms, raw id, index prefix, data,
#: readable formats, data format. Returns 1 or 0.
REPLACE: Final = Script(
    "replace",
    _LIVE
    + _READABLE
    + _EXTEND
    + """
local found = redis.call('HMGET', KEYS[1], 'e', 'i', 'f')
if not found[2] or not live(found[1]) or not readable(found[3], ARGV[7]) then
  return 0
end
-- HSET keeps the key's TTL.
redis.call('HSET', KEYS[1], 'd', ARGV[6], 'f', ARGV[8])
if ARGV[2] ~= '' then
  extend(KEYS[1], ARGV[5] .. found[2], ARGV[4])
end
return 1
""",
)

#: KEYS: old session, new session. ARGV: now, old raw id, new raw id, index prefix, readable
#: formats, data format, and the new data if it changes too. Returns 1 or 0.
MOVE: Final = Script(
    "move",
    _LIVE
    + _READABLE
    + """
local found = redis.call('HMGET', KEYS[1], 'e', 'i', 'f')
if not found[2] then
  -- The new ID is fresh: if its hash exists, this is a resent move whose first send went through.
  return redis.call('EXISTS', KEYS[2])
end
if not live(found[1]) or not readable(found[3], ARGV[5]) then
  return 0
end
if redis.call('EXISTS', KEYS[2]) == 1 then
  return -1  -- the new ID is in use: the session stays where it was
end
-- RENAME carries the TTL over: the absolute expiry is kept.
redis.call('RENAME', KEYS[1], KEYS[2])
if ARGV[7] then
  redis.call('HSET', KEYS[2], 'd', ARGV[7], 'f', ARGV[6])
end
local index = ARGV[4] .. found[2]
local expire_at = redis.call('PEXPIRETIME', KEYS[2])
local score = expire_at < 0 and '+inf' or expire_at
-- Add before removing: removing the last member would delete the index and its TTL.
redis.call('ZADD', index, score, ARGV[3])
redis.call('ZREM', index, ARGV[2])
return 1
""",
)

#: KEYS: session. ARGV: raw id, index prefix.
REMOVE: Final = Script(
    "remove",
    """
local key_digest = redis.call('HGET', KEYS[1], 'i')
if key_digest then
  redis.call('DEL', KEYS[1])
  redis.call('ZREM', ARGV[2] .. key_digest, ARGV[1])
end
return 1
""",
)

#: KEYS: index. ARGV: session prefix, page size. Removes the first page of a key's sessions and
#: their index entries (the index goes with its last entry); returns how many were removed.
REMOVE_KEY: Final = Script(
    "remove_key",
    """
local members = redis.call('ZRANGE', KEYS[1], 0, tonumber(ARGV[2]) - 1)
for _, member in ipairs(members) do
  redis.call('DEL', ARGV[1] .. member)
end
if #members > 0 then
  redis.call('ZREM', KEYS[1], unpack(members))
end
return #members
""",
)

#: KEYS: index. ARGV: now, session prefix, readable formats, ZSCAN cursor, page size. Returns the next
#: cursor ("0": done), then raw id, data, created, expires of each live session of the page that
#: this store can read. A session in the index from the first page to the last is in one of them.
LIST: Final = Script(
    "list",
    _LIVE
    + _READABLE
    + """
local scan = redis.call('ZSCAN', KEYS[1], ARGV[4], 'COUNT', ARGV[5])
local out = {scan[1]}
local page = scan[2]
for position = 1, #page, 2 do
  local member = page[position]
  local found = redis.call('HMGET', ARGV[2] .. member, 'd', 'c', 'e', 'f')
  if found[1] and live(found[3]) and readable(found[4], ARGV[3]) then
    table.insert(out, member)
    table.insert(out, found[1])
    table.insert(out, found[2])
    table.insert(out, found[3])
  end
end
return out
""",
)

#: KEYS: old session, new session, new index. ARGV: now, old raw id, new raw id, old index prefix,
#: new session key, its digest, readable formats, data format, and the new data if it changes too.
#: Returns 1 or 0.
#: On one server, or where both tags share a slot: the whole move to another key in one step.
MOVE_TO_KEY: Final = Script(
    "move_to_key",
    _LIVE
    + _READABLE
    + """
local found = redis.call('HMGET', KEYS[1], 'e', 'i', 'f')
if not found[2] then
  return redis.call('EXISTS', KEYS[2])
end
if not live(found[1]) or not readable(found[3], ARGV[7]) then
  return 0
end
if redis.call('EXISTS', KEYS[2]) == 1 then
  return -1  -- the new ID is in use: the session stays where it was
end
redis.call('RENAME', KEYS[1], KEYS[2])
redis.call('HSET', KEYS[2], 'k', ARGV[5], 'i', ARGV[6])
if ARGV[9] then
  redis.call('HSET', KEYS[2], 'd', ARGV[9], 'f', ARGV[8])
end
redis.call('ZREM', ARGV[4] .. found[2], ARGV[2])
local expire_at = redis.call('PEXPIRETIME', KEYS[2])
if expire_at < 0 then
  redis.call('ZADD', KEYS[3], '+inf', ARGV[3])
  redis.call('PERSIST', KEYS[3])
else
  local fresh = redis.call('EXISTS', KEYS[3]) == 0
  redis.call('ZADD', KEYS[3], expire_at, ARGV[3])
  if fresh then
    redis.call('PEXPIREAT', KEYS[3], expire_at)
  else
    redis.call('PEXPIREAT', KEYS[3], expire_at, 'GT')
  end
end
return 1
""",
)

#: KEYS: session. ARGV: now, raw id, index prefix, readable formats. Removes a live session this
#: store can read and returns its data, created, expires and data format, or nil: the first half of
#: a move to a key in another slot of a cluster.
TAKE: Final = Script(
    "take",
    _LIVE
    + _READABLE
    + """
local found = redis.call('HMGET', KEYS[1], 'd', 'c', 'e', 'i', 'f')
if not found[1] or not live(found[3]) or not readable(found[5], ARGV[4]) then
  return false
end
redis.call('DEL', KEYS[1])
redis.call('ZREM', ARGV[3] .. found[4], ARGV[2])
return {found[1], found[2], found[3], found[5] or ''}
""",
)
