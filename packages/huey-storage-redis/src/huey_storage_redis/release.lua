-- Put a leased message back at the queue head, counting the lease that
-- ended as a delivery. ARGV[2] receipt. Returns 1 if the lease was held.
local envelope = take_lease(ARGV[2])
if not envelope then return 0 end
local expired, priority, data = split_envelope(envelope)
push((expired + 1) .. ':' .. priority .. '|' .. data, priority, true)
return 1
