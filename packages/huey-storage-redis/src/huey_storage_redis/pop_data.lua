-- Remove and return a value (GETDEL), untracking it as a result.
-- KEYS[1] value key, KEYS[2] results index; ARGV[1] the user's key.
local value = redis.call('GETDEL', KEYS[1])
if value then redis.call('ZREM', KEYS[2], ARGV[1]) end
return value
