/**
 * The Redis side of `gcra.ts`, line for line, run atomically by one EVALSHA per decision.
 * KEYS[1]: the bucket. ARGV: limit, period (ms), cost, and optionally now (ms; tests only — the
 * default is Redis' own clock, the one clock every instance shares).
 * Returns {allowed (0/1), remaining, resetMs, retryAfterMs}.
 */
export const GCRA_LUA = `
local limit = tonumber(ARGV[1])
local period = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local now
if ARGV[4] ~= nil and ARGV[4] ~= '' then
  now = tonumber(ARGV[4])
else
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
end
local interval = period / limit
local tat = tonumber(redis.call('GET', KEYS[1]))
if tat == nil or tat < now then tat = now end
local new_tat = tat + interval * cost
local allow_at = new_tat - period
if allow_at - now > 0.01 then
  local remaining = math.max(0, math.floor((period - (tat - now)) / interval + 1e-9))
  local retry_after = math.ceil(allow_at - now)
  return {0, remaining, retry_after, retry_after}
end
local used = new_tat - now
redis.call('SET', KEYS[1], string.format('%.3f', new_tat), 'PX', math.max(1, math.ceil(used)))
local remaining = math.max(0, math.floor((period - used) / interval + 1e-9))
local reset = 0
if remaining < limit then reset = math.max(0, math.ceil((remaining + 1) * interval - (period - used))) end
return {1, remaining, reset, 0}
`;
