-- wrk script: HTTP/1.1 pipelining, as in TechEmpower's plaintext test.
--   wrk ... -s benches/pipeline.lua -- 16
-- Every write carries `depth` copies of the request (wrk.format() with the
-- command line's method, path and headers); wrk counts each response.
init = function(args)
  local depth = tonumber(args[1]) or 1
  local r = {}
  for i = 1, depth do
    r[i] = wrk.format()
  end
  req = table.concat(r)
end

request = function()
  return req
end
