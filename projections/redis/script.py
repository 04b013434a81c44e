"""The Lua script that applies progress intents and the checkpoint in one atomic Redis call.

Arguments (all in ARGV; keys are derived from the prefix, so this targets a standalone Redis,
or a cluster only if the prefix carries a hash tag such as `{tracktion}:`):

    1 prefix, 2 projection, 3 n_files, 4 n_batches, 5 n_checkpoints, then
    n_files     x (cid, file_id, code, at_us, event_id)
    n_batches   x (cid, first_at_us, last_at_us, done_at_us or "", first_at as unix seconds)
    n_checkpoints x ("<topic>:<partition>", offset)

Returns {files changed, batches changed}. The `#!lua` shebang makes Redis refuse the whole
script up front when over maxmemory instead of failing half-way through its writes.
"""

from __future__ import annotations

from projections.redis.apply import CODE, RANK
from schemas.status import BATCH_COUNTER


def _lua_table(values: dict[str, object]) -> str:
    return "{" + ", ".join(f"{k} = {v}" for k, v in values.items()) + "}"


# The status tables come from apply.py (its RANK is the reference the script implements; its
# CODE the stored letters); NAME is the batch counter of each status (schemas/status.py).
_RANK = _lua_table({CODE[s]: rank for s, rank in RANK.items()})
_NAME = _lua_table({CODE[s]: f"'{BATCH_COUNTER[s]}'" for s in CODE})
_ZEROS = ", ".join(f"'{BATCH_COUNTER[s]}', 0" for s in CODE)

_TEMPLATE = r"""#!lua
local P = ARGV[1]
local nf, nb, nc = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
local RANK = @RANK@
local NAME = @NAME@
local changed, nchanged = {}, 0

-- Byte order, as in Python: Lua's `<` on strings uses strcoll and the server's locale.
local function bytes_less(a, b)
  for i = 1, math.min(#a, #b) do
    local x, y = string.byte(a, i), string.byte(b, i)
    if x ~= y then return x < y end
  end
  return #a < #b
end

-- Last-writer-wins on (rank, occurred_at, event_id); an equal key (the same event) is no change.
local function newer(code, at, eid, old)
  local ocode, oat, oeid = string.match(old, '^(%a) (%d+) (.*)$')
  if RANK[code] ~= RANK[ocode] then return RANK[code] > RANK[ocode] end
  local a, oa = tonumber(at), tonumber(oat)
  if a ~= oa then return a > oa end
  if eid == oeid then return false end
  return bytes_less(oeid, eid)
end

local i = 6
for _ = 1, nf do
  local cid, fid, code, at, eid = ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3], ARGV[i + 4]
  i = i + 5
  local fkey, bkey = P .. 'files:' .. cid, P .. 'batch:' .. cid
  local old = redis.call('HGET', fkey, fid)
  local value = code .. ' ' .. at .. ' ' .. eid
  if not old then
    redis.call('HSET', fkey, fid, value)
    if redis.call('HINCRBY', bkey, 'files', 1) == 1 then
      -- Zeros up front, so the hash has the same fields whatever order events arrive in.
      redis.call('HSET', bkey, @ZEROS@)
    end
    redis.call('HINCRBY', bkey, NAME[code], 1)
    changed[cid] = true
    nchanged = nchanged + 1
  elseif newer(code, at, eid, old) then
    redis.call('HSET', fkey, fid, value)
    local ocode = string.sub(old, 1, 1)
    -- Move the file between counters: the counts always equal the files in each status.
    if ocode ~= code then
      redis.call('HINCRBY', bkey, NAME[ocode], -1)
      redis.call('HINCRBY', bkey, NAME[code], 1)
    end
    changed[cid] = true
    nchanged = nchanged + 1
  end
end

for _ = 1, nb do
  local cid, first, last, done, score = ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3], ARGV[i + 4]
  i = i + 5
  local bkey = P .. 'batch:' .. cid
  local cur = redis.call('HMGET', bkey, 'first_at', 'last_at', 'done_at')
  -- Strings are stored as given: Lua would print large numbers as 1.7e+15 and lose digits.
  if not cur[1] or tonumber(first) < tonumber(cur[1]) then
    redis.call('HSET', bkey, 'first_at', first)
    redis.call('ZADD', P .. 'batches', score, cid)
    changed[cid] = true
  end
  if not cur[2] or tonumber(last) > tonumber(cur[2]) then
    redis.call('HSET', bkey, 'last_at', last)
    changed[cid] = true
  end
  if done ~= '' and (not cur[3] or tonumber(done) > tonumber(cur[3])) then
    redis.call('HSET', bkey, 'done_at', done)
    changed[cid] = true
  end
end

-- Offsets only move forward: a stale runner cannot rewind another's progress.
local ckey = P .. 'checkpoint:' .. ARGV[2]
for _ = 1, nc do
  local field, offset = ARGV[i], ARGV[i + 1]
  i = i + 2
  local cur = redis.call('HGET', ckey, field)
  if not cur or tonumber(offset) > tonumber(cur) then
    redis.call('HSET', ckey, field, offset)
  end
end

local nbatches = 0
for cid, _ in pairs(changed) do
  redis.call('PUBLISH', P .. 'progress:' .. cid, cid)
  nbatches = nbatches + 1
end
return {nchanged, nbatches}
"""
PROGRESS_LUA = _TEMPLATE.replace("@RANK@", _RANK).replace("@NAME@", _NAME).replace(
    "@ZEROS@", _ZEROS)
