-- Delete a value only if it is the one given (a lock's owner token).
-- KEYS[1] value key; ARGV[1] expected value.
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
