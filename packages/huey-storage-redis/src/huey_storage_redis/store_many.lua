-- Acknowledge several leases, each storing its result in the same step (as
-- store.lua does for one). KEYS[1] leases, KEYS[2] lease deadlines, then one
-- data key per acknowledgement that carries a result, in order.
-- ARGV[1] time-to-live of results in ms ('0' = forever), then per
-- acknowledgement: receipt, '1' with a result (value, wake-up channel follow)
-- or '0'. Returns how many leases were held.
local ttl = tonumber(ARGV[1])
local receipts = {}
local i, k = 2, 3
while i <= #ARGV do
  receipts[#receipts + 1] = ARGV[i]
  if ARGV[i + 1] == '1' then
    if ttl > 0 then
      redis.call('SET', KEYS[k], ARGV[i + 2], 'PX', ttl)
    else
      redis.call('SET', KEYS[k], ARGV[i + 2])
    end
    redis.call('PUBLISH', ARGV[i + 3], '1')
    k = k + 1
    i = i + 4
  else
    i = i + 2
  end
end
if #receipts == 0 then return 0 end
redis.call('ZREM', KEYS[2], unpack(receipts))
return redis.call('HDEL', KEYS[1], unpack(receipts))
