-- Take a slot of semaphore KEYS[1] for holder ARGV[1]: at most ARGV[2]
-- holders at once, each for ARGV[3] ms unless renewed.
-- With ARGV[4] = '1' only renew: refresh a holder that still has its slot.
-- Returns 1 if the holder has a slot now, else 0.
--
-- Holders live in a sorted set scored by their deadline in ms on the server
-- clock (one clock for every client). Expired holders are dropped first, so
-- a crashed worker's slot comes back after the timeout.
local now = redis.call('TIME')
now = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)

local holding = redis.call('ZSCORE', KEYS[1], ARGV[1])
if not holding then
    if ARGV[4] == '1' or redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[2]) then
        return 0
    end
end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[3]), ARGV[1])

-- the key lives as long as its longest-lived holder
local last = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
redis.call('PEXPIREAT', KEYS[1], last[2])
return 1
