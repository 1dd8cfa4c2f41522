-- Lease up to ARGV[4] messages from the queue head, each under its own
-- receipt ARGV[2] .. i (i = 1, 2...), deadline ARGV[3]; with ARGV[5] (share)
-- above 1, at most a share of what is waiting (rounded up, at least one).
-- KEYS[6] a data key read with them; with a seventh key (this client's claim
-- list, after BLMOVE moved one message there, as in claim.lua) the first
-- message is the claimed one, and nothing is taken without it.
-- Reply: {value of KEYS[6], envelope 1, envelope 2...}; {} when nothing was
-- taken. A call retried with the same receipts (reply lost on a dropped
-- connection) returns the messages already leased under them.
local prefix, deadline, count = ARGV[2], ARGV[3], tonumber(ARGV[4])
local claim_key = KEYS[7]
local reply = {}
local held = redis.call('HGET', leases_key, prefix .. '1')
if held then
  if claim_key then return_claimed(claim_key) end
  local i = 1
  while held and i <= count do
    reply[#reply + 1] = held
    i = i + 1
    held = redis.call('HGET', leases_key, prefix .. i)
  end
else
  if claim_key then
    local claimed = redis.call('RPOP', claim_key)
    if not claimed then return {} end
    return_claimed(claim_key)
    reply[1] = claimed
  end
  local waiting
  if is_priority then waiting = redis.call('ZCARD', queue_key)
  else waiting = redis.call('LLEN', queue_key) end
  local share = tonumber(ARGV[5])
  if share > 1 then
    count = math.min(count, math.max(1, math.ceil((waiting + #reply) / share)))
  end
  local wanted = math.min(count - #reply, waiting)
  if wanted > 0 then
    if is_priority then
      local popped = redis.call('ZPOPMIN', queue_key, wanted)
      for i = 1, #popped, 2 do reply[#reply + 1] = string.sub(popped[i], 17) end
      if wanted == waiting then redis.call('DEL', ready_key) end
    else
      for _, envelope in ipairs(redis.call('RPOP', queue_key, wanted)) do
        reply[#reply + 1] = envelope
      end
    end
  end
  if #reply == 0 then return {} end
  local fields, scores = {}, {}
  for i, envelope in ipairs(reply) do
    local receipt = prefix .. i
    fields[#fields + 1] = receipt
    fields[#fields + 1] = envelope
    scores[#scores + 1] = deadline
    scores[#scores + 1] = receipt
  end
  redis.call('HSET', leases_key, unpack(fields))
  redis.call('ZADD', deadlines_key, unpack(scores))
end
if #reply == 0 then return {} end
table.insert(reply, 1, redis.call('GET', KEYS[6]))
return reply
