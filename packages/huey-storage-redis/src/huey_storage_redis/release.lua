-- Put a leased message back at the queue head, delivery count unchanged.
-- ARGV[2] receipt. Returns 1 if the lease was held.
local envelope = take_lease(ARGV[2])
if not envelope then return 0 end
local _, priority = split_envelope(envelope)
push(envelope, priority, true)
return 1
