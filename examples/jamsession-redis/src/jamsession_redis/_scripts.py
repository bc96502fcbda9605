"""The Lua scripts behind every operation.

Redis runs a script as one atomic step, so each operation checks and changes
its keys with nothing in between: ``update`` cannot write to a session deleted
a moment before, and of two concurrent ``rework`` calls only the first finds
the old key.

Layout, under a configurable prefix ``P``:

``P s:<raw id>``
    A hash: ``k`` session key, ``d`` encoded data, ``c`` creation time,
    ``e`` expiry time (Unix seconds, ``""`` for never). Redis expires the
    key itself at ``e``.
``P k:<session key>``
    A sorted set of the key's raw IDs for ``clear`` and ``list_sessions``,
    scored by the millisecond at which Redis expires each (``+inf`` for never).
    It lives as long as its longest-lived session.

Whether a session has expired is decided by the ``now`` the caller passes,
from the store's clock, as with every jamsession backend; Redis's own expiry
reclaims the memory, so nothing needs purging. The index forgets an ID only
once Redis's clock says its hash is gone, so ``clear`` reaches every session
that any application server, whatever its clock, could still read.
"""

from __future__ import annotations

# Shared by the scripts that read: is an expiry ('' = never) after ARGV[1], the caller's now?
_LIVE = """
local function live(expires)
  return expires == '' or tonumber(expires) > tonumber(ARGV[1])
end
"""

#: KEYS: session, index. ARGV: now, session key, data, created, expires, expire-at ms, raw id.
CREATE = """
local clock = redis.call('TIME')
local server_ms = clock[1] * 1000 + math.floor(clock[2] / 1000)
-- Forget the IDs whose hash Redis has already expired; keeps the index small.
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', '(' .. server_ms)
local fresh = redis.call('EXISTS', KEYS[2]) == 0
redis.call('HSET', KEYS[1], 'k', ARGV[2], 'd', ARGV[3], 'c', ARGV[4], 'e', ARGV[5])
if ARGV[5] == '' then
  redis.call('ZADD', KEYS[2], '+inf', ARGV[7])
  redis.call('PERSIST', KEYS[2])
  return 1
end
redis.call('PEXPIREAT', KEYS[1], ARGV[6])
redis.call('ZADD', KEYS[2], ARGV[6], ARGV[7])
if fresh then
  redis.call('PEXPIREAT', KEYS[2], ARGV[6])
else
  -- Never shortens it; a persistent index (a session that never expires) stays so.
  redis.call('PEXPIREAT', KEYS[2], ARGV[6], 'GT')
end
return 1
"""

#: KEYS: session. ARGV: now, new expiry ('' keeps it), its ms, raw id, P k:. Returns the data or nil.
FETCH = (
    _LIVE
    + """
local found = redis.call('HMGET', KEYS[1], 'd', 'e', 'k')
if not found[1] or not live(found[2]) then
  return false
end
if ARGV[2] ~= '' then
  local index = ARGV[5] .. found[3]
  redis.call('HSET', KEYS[1], 'e', ARGV[2])
  redis.call('PEXPIREAT', KEYS[1], ARGV[3])
  redis.call('ZADD', index, 'XX', ARGV[3], ARGV[4])
  redis.call('PEXPIREAT', index, ARGV[3], 'GT')
end
return found[1]
"""
)

#: KEYS: session. ARGV: now, data, new expiry ('' keeps it), its ms, raw id, P k:. Returns 1, or 0.
REPLACE = (
    _LIVE
    + """
local found = redis.call('HMGET', KEYS[1], 'e', 'k')
if not found[2] or not live(found[1]) then
  return 0
end
-- HSET keeps the key's TTL.
redis.call('HSET', KEYS[1], 'd', ARGV[2])
if ARGV[3] ~= '' then
  local index = ARGV[6] .. found[2]
  redis.call('HSET', KEYS[1], 'e', ARGV[3])
  redis.call('PEXPIREAT', KEYS[1], ARGV[4])
  redis.call('ZADD', index, 'XX', ARGV[4], ARGV[5])
  redis.call('PEXPIREAT', index, ARGV[4], 'GT')
end
return 1
"""
)

#: KEYS: old session, new session. ARGV: now, old raw id, new raw id, P k:. Returns 1, or 0.
MOVE = (
    _LIVE
    + """
local found = redis.call('HMGET', KEYS[1], 'e', 'k')
if not found[2] or not live(found[1]) then
  return 0
end
-- RENAME carries the TTL over: the absolute expiry is kept.
redis.call('RENAME', KEYS[1], KEYS[2])
local index = ARGV[4] .. found[2]
local expire_at = redis.call('PEXPIRETIME', KEYS[2])
local score = expire_at < 0 and '+inf' or expire_at
-- Add before removing: removing the last member would delete the index and its TTL.
redis.call('ZADD', index, score, ARGV[3])
redis.call('ZREM', index, ARGV[2])
return 1
"""
)

#: KEYS: session. ARGV: raw id, P k:.
REMOVE = """
local session_key = redis.call('HGET', KEYS[1], 'k')
if session_key then
  redis.call('DEL', KEYS[1])
  redis.call('ZREM', ARGV[2] .. session_key, ARGV[1])
end
return 1
"""

#: KEYS: index. ARGV: P s:.
REMOVE_KEY = """
for _, member in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  redis.call('DEL', ARGV[1] .. member)
end
redis.call('DEL', KEYS[1])
return 1
"""

#: KEYS: index. ARGV: now, P s:. Returns raw id, data, created, expires for each live session.
LIST = (
    _LIVE
    + """
local out = {}
for _, member in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  local found = redis.call('HMGET', ARGV[2] .. member, 'd', 'c', 'e')
  if found[1] and live(found[3]) then
    table.insert(out, member)
    table.insert(out, found[1])
    table.insert(out, found[2])
    table.insert(out, found[3])
  end
end
return out
"""
)
