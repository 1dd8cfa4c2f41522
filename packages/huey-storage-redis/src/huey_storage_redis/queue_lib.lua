-- Queue helpers, prepended by scripts.py to every script that touches the queue.
--
-- Fixed layout shared by those scripts:
--   KEYS[1] queue: a list (head = right end), or a sorted set when ARGV[1] == '1'
--   KEYS[2] ready: for the sorted set only, a list holding one token while the
--           queue is not empty, so idle consumers can block on it (BLMOVE)
--   KEYS[3] sequence counter ordering sorted-set members
--   KEYS[4] leases: hash receipt -> envelope
--   KEYS[5] lease deadlines: sorted set receipt -> deadline (epoch seconds)
--   ARGV[1] '1' for a priority queue, '0' for a FIFO list
--
-- An envelope is '<expired leases>:<priority>|<message bytes>'. Sorted-set
-- members prefix it with a 16-digit sequence: score -priority orders by
-- priority, the sequence keeps FIFO order within one score, and sequences
-- below SEQ_ORIGIN put requeued messages at the head.
local queue_key, ready_key, seq_key = KEYS[1], KEYS[2], KEYS[3]
local leases_key, deadlines_key = KEYS[4], KEYS[5]
local is_priority = ARGV[1] == '1'
local SEQ_ORIGIN = 1000000000000000

-- expired count, priority, message; an entry pushed without an envelope (by
-- another client) gives nil, '0' and the whole entry.
local function split_envelope(envelope)
  local expired, priority, message = string.match(envelope, '^(%d+):(%-?%d+)|(.*)$')
  if not expired then return nil, '0', envelope end
  return tonumber(expired), priority, message
end

-- Add a dead letter (KEYS[6] records by id, KEYS[7] ids by age, KEYS[8] id
-- counter); a record is '<failed_at> <reason byte length>|<reason><data>'.
local function add_dead_letter(data, reason, failed_at)
  local id = redis.call('INCR', KEYS[8])
  redis.call('HSET', KEYS[6], id, failed_at .. ' ' .. #reason .. '|' .. reason .. data)
  redis.call('ZADD', KEYS[7], id, id)
  return tostring(id)
end

local function push(envelope, priority, at_head)
  if is_priority then
    local n = redis.call('INCR', seq_key)
    local seq = SEQ_ORIGIN + n
    if at_head then seq = SEQ_ORIGIN - n end
    redis.call('ZADD', queue_key, 0 - tonumber(priority),
               string.format('%016.0f', seq) .. envelope)
    if redis.call('LLEN', ready_key) == 0 then
      redis.call('RPUSH', ready_key, '1')
    end
  elseif at_head then
    redis.call('RPUSH', queue_key, envelope)
  else
    redis.call('LPUSH', queue_key, envelope)
  end
end

local function pop()
  if is_priority then
    local popped = redis.call('ZPOPMIN', queue_key)
    if #popped == 0 then
      redis.call('DEL', ready_key)  -- never leave a token that wakes waiters for nothing
      return false
    end
    if redis.call('ZCARD', queue_key) == 0 then
      redis.call('DEL', ready_key)
    end
    return string.sub(popped[1], 17)
  end
  return redis.call('RPOP', queue_key)
end

local function take_lease(receipt)
  local envelope = redis.call('HGET', leases_key, receipt)
  if envelope then
    redis.call('HDEL', leases_key, receipt)
    redis.call('ZREM', deadlines_key, receipt)
  end
  return envelope
end

-- Put whatever is left in a client's claim list (after BLMOVE; a pipeline
-- retried after a lost reply leaves more there) back at the queue head, so
-- nothing stays stranded (claim.lua, lease_many.lua).
local function return_claimed(claim_key)
  local envelope = redis.call('RPOP', claim_key)
  while envelope do
    redis.call('RPUSH', queue_key, envelope)
    envelope = redis.call('RPOP', claim_key)
  end
end
