-- Loaded with `wrk -s`: at the end of a run, print one JSON line with wrk's own counters and latency
-- statistics (microseconds), so that the harness reads exact numbers instead of wrk's rounded text.
-- It defines no request() or response(): a response() would make wrk parse every body and slow it down.

local function number(x)
  -- JSON has no NaN or infinity.
  if x ~= x or x == math.huge or x == -math.huge then
    return "null"
  end
  return string.format("%.17g", x)
end

done = function(summary, latency, requests)
  local errors = summary.errors
  -- With no latency recorded (every response came after --timeout) wrk reports min > max and zeros elsewhere.
  local empty = latency.min > latency.max
  local function stat(x)
    if empty then
      return "null"
    end
    return number(x)
  end
  io.write(string.format(
    '{"wrk_report": 1, "requests": %.0f, "duration_us": %.0f, "bytes": %.0f, '
      .. '"errors": {"connect": %.0f, "read": %.0f, "write": %.0f, "status": %.0f, "timeout": %.0f}, '
      .. '"latency_us": {"50": %s, "90": %s, "99": %s, "mean": %s, "max": %s}}\n',
    summary.requests, summary.duration, summary.bytes,
    errors.connect, errors.read, errors.write, errors.status, errors.timeout,
    stat(latency:percentile(50)), stat(latency:percentile(90)), stat(latency:percentile(99)),
    stat(latency.mean), stat(latency.max)))
end
