-- Return messages stranded in claim lists to the queue head. A claim list
-- (see claim.lua) holds a message only between BLMOVE and claim.lua of one
-- pipeline, unless its client vanished in between. KEYS[6] is the sorted set
-- of claim lists scored by the time each is in use until; lists scored before
-- ARGV[2] are abandoned. At most ARGV[3] lists per call.
-- Returns {messages returned, lists examined}.
local lists = redis.call('ZRANGEBYSCORE', KEYS[6], '-inf', '(' .. ARGV[2],
                         'LIMIT', 0, tonumber(ARGV[3]))
local returned = 0
for _, claim_key in ipairs(lists) do
  local envelope = redis.call('RPOP', claim_key)
  while envelope do
    redis.call('RPUSH', queue_key, envelope)
    returned = returned + 1
    envelope = redis.call('RPOP', claim_key)
  end
  redis.call('ZREM', KEYS[6], claim_key)
end
return {returned, #lists}
