-- Remove and return a value. KEYS[1] value key.
return redis.call('GETDEL', KEYS[1])
