-- Add an envelope to the schedule; a sequence keeps members unique and
-- items sharing a timestamp in insertion order.
-- KEYS[1] schedule, KEYS[2] schedule sequence; ARGV[1] timestamp, ARGV[2] envelope.
local n = redis.call('INCR', KEYS[2])
redis.call('ZADD', KEYS[1], ARGV[1], string.format('%016.0f', n) .. ARGV[2])
return n
