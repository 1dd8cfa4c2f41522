-- Store a data value and/or acknowledge a lease, in one atomic step: this is
-- both put_data() and ack(receipt, result=(key, value)).
-- KEYS[1] leases, KEYS[2] lease deadlines, KEYS[3] value key
-- ARGV[1] receipt ('' = no lease to acknowledge)
-- ARGV[2] '1' when a value is given, ARGV[3] the value
-- ARGV[4] time-to-live in ms ('0' = forever; expiring storages give results one)
-- ARGV[5] the wake-up channel
local held = 0
if ARGV[1] ~= '' then
  held = redis.call('HDEL', KEYS[1], ARGV[1])
  redis.call('ZREM', KEYS[2], ARGV[1])
end
if ARGV[2] == '1' then
  if tonumber(ARGV[4]) > 0 then
    redis.call('SET', KEYS[3], ARGV[3], 'PX', ARGV[4])
  else
    redis.call('SET', KEYS[3], ARGV[3])
  end
  redis.call('PUBLISH', ARGV[5], '1')
end
return held
