-- Pop the head of the queue; with a receipt, record the lease in the same step.
-- ARGV[2] receipt ('' = at-most-once dequeue), ARGV[3] lease deadline.
-- With a sixth key (a data key), the reply is {envelope, value of that key}
-- when a message was taken, so a flag is read in the same round trip.
-- A call retried with the same receipt (reply lost on a dropped connection)
-- returns the message already leased under it instead of leasing another.
local receipt = ARGV[2]
if receipt ~= '' then
  local held = redis.call('HGET', leases_key, receipt)
  if held then
    if KEYS[6] then return {held, redis.call('GET', KEYS[6])} end
    return held
  end
end
local envelope = pop()
if not envelope then return false end
if receipt ~= '' then
  redis.call('HSET', leases_key, receipt, envelope)
  redis.call('ZADD', deadlines_key, ARGV[3], receipt)
end
if KEYS[6] then return {envelope, redis.call('GET', KEYS[6])} end
return envelope
