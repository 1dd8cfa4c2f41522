-- Store a data value and/or acknowledge a lease, in one atomic step: this is
-- both put_data() and ack(receipt, result=(key, value)).
-- KEYS[1] leases, KEYS[2] lease deadlines, KEYS[3] value key, KEYS[4] results index
-- ARGV[1] receipt ('' = no lease to acknowledge)
-- ARGV[2] '1' when a value is given, ARGV[3] the value
-- ARGV[4] '1' for a result, ARGV[5] result time-to-live in ms ('0' = forever)
-- ARGV[6] the user's key (the index member), ARGV[7] the wake-up channel
-- The results index scores each result key with its expiry (ms, server clock),
-- or +inf, so enumeration skips expired results and writes prune them.
local held = 0
if ARGV[1] ~= '' then
  held = redis.call('HDEL', KEYS[1], ARGV[1])
  redis.call('ZREM', KEYS[2], ARGV[1])
end
if ARGV[2] == '1' then
  local ttl = tonumber(ARGV[5])
  if ARGV[4] ~= '1' then
    redis.call('SET', KEYS[3], ARGV[3])
    redis.call('ZREM', KEYS[4], ARGV[6])
  elseif ttl > 0 then
    local now = redis.call('TIME')
    local now_ms = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
    redis.call('SET', KEYS[3], ARGV[3], 'PX', ttl)
    redis.call('ZREMRANGEBYSCORE', KEYS[4], '-inf', '(' .. string.format('%.0f', now_ms))
    redis.call('ZADD', KEYS[4], string.format('%.0f', now_ms + ttl), ARGV[6])
  else
    redis.call('SET', KEYS[3], ARGV[3])
    redis.call('ZADD', KEYS[4], '+inf', ARGV[6])
  end
  redis.call('PUBLISH', ARGV[7], '1')
end
return held
