/**
 * The Lua scripts of the cache tier. Each runs atomically in Redis, so a check and the
 * write it guards can never be split by another node's write.
 *
 * A head entry is a hash: `c` createdAt, `v` version, `q` last sequence number, `f` first
 * sequence number (the *rank*, compared in that order), `r` the record JSON, `d` the state
 * JSON. An entry without `r`/`d` is a *marker*: it holds a rank so older writes are refused,
 * and reads treat it as a miss. `t` marks a tombstone of a deleted context.
 *
 * Keys: `<prefix><epoch>:<tenant>:<id>`, the epoch read from KEYS[1] by every script, so
 * bumping the epoch (INCR) empties the whole cache at once for every node.
 */

/** ARGV: prefix, suffix → `[record, state]` (nils on a miss). */
export const READ_SCRIPT = `
local e = redis.call('GET', KEYS[1]) or '0'
return redis.call('HMGET', ARGV[1] .. e .. ':' .. ARGV[2], 'r', 'd')
`;

/**
 * ARGV: prefix, suffix, mode, c, v, q, f, record, state, ttlMs → 1 written, 0 refused.
 *
 * Modes: `put` (full entry, newer rank), `bump` (append: move the rank and record
 * and keep the state when the version is unchanged, else leave a plain marker), `mark`
 * (strict marker at this rank, also over an equal rank), `clear` (drop anything, tombstone included, then
 * put: a new context), `tomb` (tombstone).
 */
export const WRITE_SCRIPT = `
local e = redis.call('GET', KEYS[1]) or '0'
local k = ARGV[1] .. e .. ':' .. ARGV[2]
local mode = ARGV[3]
local ttl = tonumber(ARGV[10])
if mode == 'tomb' then
  redis.call('DEL', k)
  redis.call('HSET', k, 't', '1')
  redis.call('PEXPIRE', k, ttl)
  return 1
end
if mode == 'clear' then
  redis.call('DEL', k)
else
  local cur = redis.call('HMGET', k, 't', 'c', 'v', 'q', 'f', 'd', 'm')
  if cur[1] then return 0 end
  if cur[2] then
    local a = {tonumber(cur[2]), tonumber(cur[3]), tonumber(cur[4]), tonumber(cur[5])}
    local b = {tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[7])}
    local cmp = 0
    for i = 1, 4 do
      if b[i] > a[i] then cmp = 1 break elseif b[i] < a[i] then cmp = -1 break end
    end
    if cmp < 0 then return 0 end
    if cmp == 0 and mode ~= 'mark' and not (mode == 'put' and not cur[6] and not cur[7]) then return 0 end
    if mode == 'bump' and cur[6] and a[1] == b[1] and a[2] == b[2] then
      redis.call('HSET', k, 'q', ARGV[6], 'f', ARGV[7], 'r', ARGV[8])
      redis.call('PEXPIRE', k, ttl)
      return 1
    end
  end
end
redis.call('DEL', k)
if mode == 'mark' then
  redis.call('HSET', k, 'c', ARGV[4], 'v', ARGV[5], 'q', ARGV[6], 'f', ARGV[7], 'm', '1')
elseif mode == 'bump' then
  redis.call('HSET', k, 'c', ARGV[4], 'v', ARGV[5], 'q', ARGV[6], 'f', ARGV[7])
else
  redis.call('HSET', k, 'c', ARGV[4], 'v', ARGV[5], 'q', ARGV[6], 'f', ARGV[7], 'r', ARGV[8], 'd', ARGV[9])
end
redis.call('PEXPIRE', k, ttl)
return 1
`;
