-- Return leases whose deadline is before ARGV[2] to the queue head, counting
-- one more expired lease in each envelope. At most ARGV[3] per call, latest
-- deadline first: each one pushed to the head goes in front of the previous,
-- so across all calls the earliest-leased message ends up at the very head.
-- An entry without an envelope (pushed by another client) cannot carry its
-- count: it goes to the dead letters (KEYS[6..8]) instead of being lost.
-- Returns {requeued, examined}; the caller loops while examined == ARGV[3].
local receipts = redis.call('ZREVRANGEBYSCORE', deadlines_key, '(' .. ARGV[2], '-inf',
                            'LIMIT', 0, tonumber(ARGV[3]))
local requeued = 0
for _, receipt in ipairs(receipts) do
  local envelope = take_lease(receipt)
  redis.call('ZREM', deadlines_key, receipt)
  if envelope then
    local expired, priority, data = split_envelope(envelope)
    if expired then
      push((expired + 1) .. ':' .. priority .. '|' .. data, priority, true)
      requeued = requeued + 1
    else
      add_dead_letter(data, 'its lease expired and it has no huey envelope ' ..
                      '(written to the queue by another client)', ARGV[2])
    end
  end
end
return {requeued, #receipts}
