-- Remove up to ARGV[4] items due at or before ARGV[2], oldest first.
-- KEYS[6] schedule. ARGV[3] 'enqueue': push each to the queue tail with its
-- priority and return how many moved; 'read': return the members.
local items = redis.call('ZRANGEBYSCORE', KEYS[6], '-inf', ARGV[2],
                         'LIMIT', 0, tonumber(ARGV[4]))
for _, item in ipairs(items) do
  redis.call('ZREM', KEYS[6], item)
end
if ARGV[3] ~= 'enqueue' then return items end
for _, item in ipairs(items) do
  local envelope = string.sub(item, 17)
  local _, priority = split_envelope(envelope)
  push(envelope, priority, false)
end
return #items
