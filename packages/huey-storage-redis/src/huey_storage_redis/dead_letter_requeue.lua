-- Move a dead letter back to the queue tail with delivery count reset.
-- KEYS[6] dead letters hash, KEYS[7] ids by age; ARGV[2] id, ARGV[3] priority.
local record = redis.call('HGET', KEYS[6], ARGV[2])
if not record then return 0 end
redis.call('HDEL', KEYS[6], ARGV[2])
redis.call('ZREM', KEYS[7], ARGV[2])
local bar = string.find(record, '|', 1, true)
local space = string.find(record, ' ', 1, true)
local reason_length = tonumber(string.sub(record, space + 1, bar - 1))
local data = string.sub(record, bar + 1 + reason_length)
push('0:' .. ARGV[3] .. '|' .. data, ARGV[3], false)
return 1
