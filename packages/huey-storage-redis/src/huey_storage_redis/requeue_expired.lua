-- Return leases whose deadline is before ARGV[2] to the queue head, counting
-- one more expired lease in each envelope. At most ARGV[3] per call.
-- Returns {requeued, examined}; the caller loops while examined == ARGV[3].
local receipts = redis.call('ZRANGEBYSCORE', deadlines_key, '-inf', '(' .. ARGV[2],
                            'LIMIT', 0, tonumber(ARGV[3]))
local requeued = 0
-- latest deadline first, so the earliest-leased message ends up at the head
for i = #receipts, 1, -1 do
  local envelope = take_lease(receipts[i])
  redis.call('ZREM', deadlines_key, receipts[i])
  if envelope then
    local expired, priority, data = split_envelope(envelope)
    push((expired + 1) .. ':' .. priority .. '|' .. data, priority, true)
    requeued = requeued + 1
  end
end
return {requeued, #receipts}
