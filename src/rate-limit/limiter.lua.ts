/**
 * The Redis side of `gcra.ts` plus hard-quota counters, run atomically by one EVALSHA per
 * decision, so a metered request costs one round trip whatever it checks.
 *
 * KEYS[1]: the rate bucket. KEYS[2..]: quota counters (units used this period), all under one
 * hash tag. ARGV: limit, period (ms), cost, now (ms, or '' for Redis' own clock — the one clock
 * every instance shares; tests pass a fixed one), then per quota counter: amount, included.
 *
 * Returns, in order:
 *   {-1, i}                       quota counter i is missing: seed it from Postgres, then retry
 *   {0, remaining, resetMs, retryAfterMs}              rate limited (nothing changed)
 *   {2, remaining, resetMs, 0, i, used_i}              quota i would be exceeded (nothing changed)
 *   {1, remaining, resetMs, 0, 0, used_1, used_2, ...} allowed; usage after this request
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
local nq = #KEYS - 1
local used = {}
for i = 1, nq do
  local v = redis.call('GET', KEYS[i + 1])
  if not v then return {-1, i} end
  used[i] = tonumber(v)
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
local used_now = new_tat - now
local remaining = math.max(0, math.floor((period - used_now) / interval + 1e-9))
local reset = 0
if remaining < limit then reset = math.max(0, math.ceil((remaining + 1) * interval - (period - used_now))) end
for i = 1, nq do
  local amount = tonumber(ARGV[3 + i * 2])
  local included = tonumber(ARGV[4 + i * 2])
  if used[i] + amount > included then
    local before = math.max(0, math.floor((period - (tat - now)) / interval + 1e-9))
    return {2, before, reset, 0, i, tostring(used[i])}
  end
end
redis.call('SET', KEYS[1], string.format('%.3f', new_tat), 'PX', math.max(1, math.ceil(used_now)))
local result = {1, remaining, reset, 0, 0}
for i = 1, nq do
  result[5 + i] = redis.call('INCRBYFLOAT', KEYS[i + 1], ARGV[3 + i * 2])
end
return result
`;
