-- Return the leases of owners whose heartbeat lapsed (or was never recorded)
-- to the queue head, counting one more delivery in each. KEYS[6] lease
-- owners: sorted set owner -> heartbeat deadline; ARGV[2] now. Lapsed
-- records are dropped. A receipt names its owner before a '/'; receipts
-- without one have no owner and only expire. Returns how many were requeued.
local owners_key = KEYS[6]
redis.call('ZREMRANGEBYSCORE', owners_key, '-inf', '(' .. ARGV[2])
local alive = {}
local requeued = 0
for _, receipt in ipairs(redis.call('HKEYS', leases_key)) do
  local slash = string.find(receipt, '/', 1, true)
  if slash then
    local owner = string.sub(receipt, 1, slash - 1)
    if alive[owner] == nil then
      alive[owner] = redis.call('ZSCORE', owners_key, owner) ~= false
    end
    if not alive[owner] then
      local expired, priority, data = split_envelope(take_lease(receipt))
      push((expired + 1) .. ':' .. priority .. '|' .. data, priority, true)
      requeued = requeued + 1
    end
  end
end
return requeued
