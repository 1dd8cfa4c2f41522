-- Add a dead letter; with a receipt, move that leased message (atomically).
-- KEYS[6] dead letters hash id -> record, KEYS[7] ids by age, KEYS[8] id counter.
-- ARGV[2] receipt or '', ARGV[3] reason, ARGV[4] data (no receipt), ARGV[5] failed_at.
-- A record is '<failed_at> <reason byte length>|<reason><data>'.
local data = ARGV[4]
if ARGV[2] ~= '' then
  local envelope = take_lease(ARGV[2])
  if not envelope then return false end
  local _, _, message = split_envelope(envelope)
  data = message
end
local id = redis.call('INCR', KEYS[8])
redis.call('HSET', KEYS[6], id, ARGV[5] .. ' ' .. #ARGV[3] .. '|' .. ARGV[3] .. data)
redis.call('ZADD', KEYS[7], id, id)
return tostring(id)
