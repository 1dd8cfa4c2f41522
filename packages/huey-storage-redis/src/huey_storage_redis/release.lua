-- Put leased messages back at the queue head, each pushed ahead of the one
-- before it: ARGV[3...] receipts. With ARGV[2] '1' (release) the lease that
-- ended counts as a delivery; with '0' (give back a message that never
-- started) the count is unchanged. Returns how many leases were held.
local counted = ARGV[2] == '1'
local returned = 0
for i = 3, #ARGV do
  local envelope = take_lease(ARGV[i])
  if envelope then
    local expired, priority, data = split_envelope(envelope)
    expired = expired or 0
    if counted then expired = expired + 1 end
    push(expired .. ':' .. priority .. '|' .. data, priority, true)
    returned = returned + 1
  end
end
return returned
