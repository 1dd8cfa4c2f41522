-- Read or flush the results index (KEYS[1]); ARGV[1] the value key prefix.
-- ARGV[2] 'size': number of live results; 'items': flat key, value list;
-- 'flush': delete up to ARGV[3] results, returning how many index entries went.
local now = redis.call('TIME')
local now_ms = string.format('%.0f', tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000))
local mode = ARGV[2]
if mode == 'size' then
  return redis.call('ZCOUNT', KEYS[1], now_ms, '+inf')
end
if mode == 'items' then
  local keys = redis.call('ZRANGEBYSCORE', KEYS[1], now_ms, '+inf')
  local flat = {}
  for _, key in ipairs(keys) do
    local value = redis.call('GET', ARGV[1] .. key)
    if value then
      flat[#flat + 1] = key
      flat[#flat + 1] = value
    end
  end
  return flat
end
local entries = redis.call('ZRANGE', KEYS[1], 0, tonumber(ARGV[3]) - 1, 'WITHSCORES')
for i = 1, #entries, 2 do
  -- an expired entry's key may since hold a lock or counter: leave it alone
  if entries[i + 1] == 'inf' or tonumber(entries[i + 1]) >= tonumber(now_ms) then
    redis.call('DEL', ARGV[1] .. entries[i])
  end
  redis.call('ZREM', KEYS[1], entries[i])
end
return #entries / 2
