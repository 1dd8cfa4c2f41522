-- Append messages to a priority queue (FIFO lists use LPUSH directly).
-- ARGV[2..]: pairs of (priority, envelope), in enqueue order.
for i = 2, #ARGV, 2 do
  push(ARGV[i + 1], ARGV[i], false)
end
return (#ARGV - 1) / 2
