-- INCRBY; a key created here gets the ttl. Wakes waiters.
-- KEYS[1] value key, KEYS[2] results index
-- ARGV[1] amount, ARGV[2] ttl in ms ('0' = none), ARGV[3] user's key, ARGV[4] channel
local existed = redis.call('EXISTS', KEYS[1])
local value = redis.call('INCRBY', KEYS[1], ARGV[1])
if existed == 0 then
  redis.call('ZREM', KEYS[2], ARGV[3])
  if tonumber(ARGV[2]) > 0 then
    redis.call('PEXPIRE', KEYS[1], ARGV[2])
  end
end
redis.call('PUBLISH', ARGV[4], '1')
return value
