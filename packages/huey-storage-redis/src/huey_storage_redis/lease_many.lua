-- Lease up to ARGV[4] messages from the queue head, each under its own
-- receipt ARGV[2] .. i (i = 1, 2...), deadline ARGV[3]; with ARGV[5] (share)
-- above 1, at most a share of what is waiting (rounded up, at least one). KEYS[6] a data key read
-- with them; with a seventh key (this client's claim list, after BLMOVE moved
-- one message there, as in claim.lua) the first message is the claimed one.
-- Reply: {value of KEYS[6], envelope 1, envelope 2...}; {} when nothing was
-- taken. A call retried with the same receipts (reply lost on a dropped
-- connection) returns the messages already leased under them.
local prefix, deadline, count = ARGV[2], ARGV[3], tonumber(ARGV[4])
local claim_key = KEYS[7]
local function return_rest()
  if not claim_key then return end
  local envelope = redis.call('RPOP', claim_key)
  while envelope do
    redis.call('RPUSH', queue_key, envelope)
    envelope = redis.call('RPOP', claim_key)
  end
end
local reply = {}
local held = redis.call('HGET', leases_key, prefix .. '1')
if held then
  return_rest()
  local i = 1
  while held and i <= count do
    reply[#reply + 1] = held
    i = i + 1
    held = redis.call('HGET', leases_key, prefix .. i)
  end
else
  local share = tonumber(ARGV[5])
  if share > 1 then
    local waiting
    if is_priority then waiting = redis.call('ZCARD', queue_key)
    else waiting = redis.call('LLEN', queue_key) end
    if claim_key then waiting = waiting + 1 end
    count = math.min(count, math.max(1, math.ceil(waiting / share)))
  end
  local envelope
  if claim_key then
    envelope = redis.call('RPOP', claim_key)
    return_rest()
  else
    envelope = pop()
  end
  while envelope do
    local receipt = prefix .. (#reply + 1)
    redis.call('HSET', leases_key, receipt, envelope)
    redis.call('ZADD', deadlines_key, deadline, receipt)
    reply[#reply + 1] = envelope
    if #reply >= count then break end
    envelope = pop()
  end
end
if #reply == 0 then return {} end
table.insert(reply, 1, redis.call('GET', KEYS[6]))
return reply
