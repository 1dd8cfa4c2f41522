-- Add a dead letter; with a receipt, move that leased message (atomically).
-- KEYS[6..8] the dead letters (see add_dead_letter). ARGV[2] receipt or '',
-- ARGV[3] reason, ARGV[4] data (no receipt), ARGV[5] failed_at.
local data = ARGV[4]
if ARGV[2] ~= '' then
  local envelope = take_lease(ARGV[2])
  if not envelope then return false end
  local _, _, message = split_envelope(envelope)
  data = message
end
return add_dead_letter(data, ARGV[3], ARGV[5])
