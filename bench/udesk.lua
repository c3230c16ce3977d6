-- wrk script: Udesk-shaped POSTs, numbers drawn from a file of stored numbers.
-- usage: wrk -s udesk.lua URL -- NUMBERS_FILE [UNKNOWN_PERCENT]
-- Alternates the number's JSON encoding (integer, string) as Udesk's two documented forms.
-- UNKNOWN_PERCENT of requests ask for a number that is not stored (404 unless --unknown empty).
local numbers = {}
local unknown = 0
function init(args)
  for line in io.lines(args[1]) do numbers[#numbers + 1] = line end
  unknown = tonumber(args[2] or "0")
  math.randomseed(os.time() + (tonumber(tostring({}):sub(8)) or 0))
end
local i = 0
function request()
  i = i + 1
  local num = numbers[math.random(#numbers)]
  if unknown > 0 and math.random(100) <= unknown then num = "19" .. string.format("%09d", math.random(0, 999999999)) end
  local value = (i % 2 == 0) and ('"' .. num .. '"') or num
  local body = string.format('{"timestamp": %d, "number": %s}', os.time(), value)
  return wrk.format("POST", nil, {["Content-Type"] = "application/json;charset=utf8"}, body)
end
