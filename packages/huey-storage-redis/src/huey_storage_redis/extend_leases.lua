-- Push the deadline of each lease still held and not yet expired.
-- KEYS[1] lease deadlines; ARGV[1] now, ARGV[2] new deadline, ARGV[3..] receipts.
local now = tonumber(ARGV[1])
local extended = 0
for i = 3, #ARGV do
  local deadline = redis.call('ZSCORE', KEYS[1], ARGV[i])
  if deadline and tonumber(deadline) >= now then
    redis.call('ZADD', KEYS[1], 'XX', ARGV[2], ARGV[i])
    extended = extended + 1
  end
end
return extended
