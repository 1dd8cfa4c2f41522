-- SET NX (PX ttl) and wake waiters when stored.
-- KEYS[1] value key; ARGV[1] value, ARGV[2] ttl in ms ('0' = none), ARGV[3] channel
local stored
if tonumber(ARGV[2]) > 0 then
  stored = redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2])
else
  stored = redis.call('SET', KEYS[1], ARGV[1], 'NX')
end
if not stored then return 0 end
redis.call('PUBLISH', ARGV[3], '1')
return 1
