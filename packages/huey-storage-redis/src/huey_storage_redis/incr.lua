-- INCRBY on a counter key; a counter created here gets the ttl.
-- KEYS[1] counter key; ARGV[1] amount, ARGV[2] ttl in ms ('0' = none)
local existed = redis.call('EXISTS', KEYS[1])
local value = redis.call('INCRBY', KEYS[1], ARGV[1])
if existed == 0 and tonumber(ARGV[2]) > 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return value
