-- Finish a blocking lease on a FIFO queue. The same pipeline first ran
-- BLMOVE queue KEYS[6] (this client's claim list), which hands a new message
-- to exactly one waiting client; this script turns it into a lease.
-- ARGV[2] receipt, ARGV[3] lease deadline. With a seventh key (a data key) the
-- reply is {envelope, value of that key}, as in take.lua.
-- Anything else left in the claim list (a pipeline retried after a lost
-- reply) goes back to the queue head, so nothing stays stranded there.
local claim_key = KEYS[6]
local function reply(envelope)
  if KEYS[7] then return {envelope, redis.call('GET', KEYS[7])} end
  return envelope
end
local held = redis.call('HGET', leases_key, ARGV[2])
if held then
  return_claimed(claim_key)
  return reply(held)
end
local envelope = redis.call('RPOP', claim_key)
if not envelope then return false end
return_claimed(claim_key)
redis.call('HSET', leases_key, ARGV[2], envelope)
redis.call('ZADD', deadlines_key, ARGV[3], ARGV[2])
return reply(envelope)
