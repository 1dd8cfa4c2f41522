-- Return leases whose deadline is before ARGV[2] to the queue head, counting
-- one more expired lease in each envelope. At most ARGV[3] per call, latest
-- deadline first: each one pushed to the head goes in front of the previous,
-- so across all calls the earliest-leased message ends up at the very head.
-- Returns {requeued, examined}; the caller loops while examined == ARGV[3].
local receipts = redis.call('ZREVRANGEBYSCORE', deadlines_key, '(' .. ARGV[2], '-inf',
                            'LIMIT', 0, tonumber(ARGV[3]))
local requeued = 0
for _, receipt in ipairs(receipts) do
  local envelope = take_lease(receipt)
  redis.call('ZREM', deadlines_key, receipt)
  if envelope then
    local expired, priority, data = split_envelope(envelope)
    push((expired + 1) .. ':' .. priority .. '|' .. data, priority, true)
    requeued = requeued + 1
  end
end
return {requeued, #receipts}
