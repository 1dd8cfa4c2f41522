-- Dead letters oldest first: a flat list id, record, id, record...
-- KEYS[1] dead letters hash, KEYS[2] ids by age; ARGV[1] last index (-1: all).
local ids = redis.call('ZRANGE', KEYS[2], 0, tonumber(ARGV[1]))
if #ids == 0 then return {} end
local flat = {}
for first = 1, #ids, 500 do  -- HMGET in slices: unpack() has a stack limit
  local last = math.min(first + 499, #ids)
  local records = redis.call('HMGET', KEYS[1], unpack(ids, first, last))
  for i = first, last do
    local record = records[i - first + 1]
    if record then
      flat[#flat + 1] = ids[i]
      flat[#flat + 1] = record
    end
  end
end
return flat
