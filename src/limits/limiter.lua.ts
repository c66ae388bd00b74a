/**
 * The Redis side of `decideBuckets` (gcra.ts) plus hard-quota counters, run atomically by one
 * EVALSHA per request, so a metered request costs one round trip whatever it checks.
 *
 * KEYS: the rate buckets (the org's plan bucket, then the key's own if it has one), then the
 * quota counters (units used this period); all under one org hash tag, so on Redis Cluster they
 * share a slot.
 * ARGV: number of buckets, now (ms, or '' for Redis' own clock — the one clock every instance
 * shares; tests pass a fixed one), units; then per bucket: limit, period (ms); then per quota
 * counter: amount, included.
 *
 * Returns, in order of precedence:
 *   {-1, q}                                       quota counter q is missing: seed it, then retry
 *   {0, b, remaining, resetMs, retryAfterMs}      bucket b refuses (nothing changed)
 *   {2, b, remaining, resetMs, 0, q, used_q}      quota q would be exceeded (nothing changed;
 *                                                 b and its figures as before this request)
 *   {1, b, remaining, resetMs, 0, used_1, ...}    allowed; usage after this request
 */
export const LIMITER_LUA = `
local nb = tonumber(ARGV[1])
local units = tonumber(ARGV[3])
local now
if ARGV[2] ~= '' then
  now = tonumber(ARGV[2])
else
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
end
local nq = #KEYS - nb
local used = {}
for q = 1, nq do
  local v = redis.call('GET', KEYS[nb + q])
  if not v then return {-1, q} end
  used[q] = tonumber(v)
end

local function figures(remaining, interval, period, spent, limit)
  if remaining >= limit then return 0 end
  return math.max(0, math.ceil((remaining + 1) * interval - (period - spent)))
end

local refused_b, refused_rem, refused_retry
local after_b, after_rem, after_reset
local before_b, before_rem, before_reset
local new_tats = {}
for b = 1, nb do
  local limit = tonumber(ARGV[2 + 2 * b])
  local period = tonumber(ARGV[3 + 2 * b])
  local interval = period / limit
  local tat = tonumber(redis.call('GET', KEYS[b]))
  if tat == nil or tat < now then tat = now end
  local new_tat = tat + interval * units
  local allow_at = new_tat - period
  local rem_before = math.max(0, math.floor((period - (tat - now)) / interval + 1e-9))
  if allow_at - now > 0.01 then
    local retry = math.ceil(allow_at - now)
    if refused_b == nil or retry > refused_retry then
      refused_b, refused_rem, refused_retry = b, rem_before, retry
    end
  else
    local spent = new_tat - now
    local rem_after = math.max(0, math.floor((period - spent) / interval + 1e-9))
    if after_b == nil or rem_after < after_rem then
      after_b, after_rem, after_reset = b, rem_after, figures(rem_after, interval, period, spent, limit)
    end
    if before_b == nil or rem_before < before_rem then
      before_b, before_rem, before_reset = b, rem_before, figures(rem_before, interval, period, tat - now, limit)
    end
    new_tats[b] = {new_tat, spent}
  end
end
if refused_b ~= nil then
  return {0, refused_b, refused_rem, refused_retry, refused_retry}
end

for q = 1, nq do
  local amount = tonumber(ARGV[2 + 2 * nb + 2 * q])
  local included = tonumber(ARGV[3 + 2 * nb + 2 * q])
  if used[q] + amount > included then
    return {2, before_b, before_rem, before_reset, 0, q, tostring(used[q])}
  end
end

for b = 1, nb do
  -- Kept a second past its TAT (when it is as good as empty), whichever clock decided.
  redis.call('SET', KEYS[b], string.format('%.3f', new_tats[b][1]), 'PX', math.ceil(new_tats[b][2]) + 1000)
end
local result = {1, after_b, after_rem, after_reset, 0}
for q = 1, nq do
  result[5 + q] = redis.call('INCRBYFLOAT', KEYS[nb + q], ARGV[2 + 2 * nb + 2 * q])
end
return result
`;
