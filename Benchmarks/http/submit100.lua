-- wrk script: POST /v1/documents with a Chongqing traffic document of 100 records whose ids are
-- unique per request (thread id, request counter), so every request is signed and stored anew.
-- Token in XGW_TOKEN (xinsheng's: cq documents are submitted by the Chongqing office).
local counter = 0
local thread_id = 0
local threads = {}

function setup(thread)
  thread:set("tid", #threads + 1)
  table.insert(threads, thread)
end

local template
function init(args)
  thread_id = tid or 0
  local records = {}
  for i = 0, 99 do
    records[#records + 1] = '{"id":"CQ__TAG__-' .. i .. '","vehicle":{"plateNo":"渝F·A1234","plateKind":"小型汽车"},' ..
      '"driver":{"name":"李四","idCard":"500228199001011235"},"occurredAt":1689035400000,' ..
      '"place":{"areaCode":"500155107","address":"新盛镇场镇过境路K2+300","lng":107.86,"lat":30.86},' ..
      '"offence":{"code":"1039","text":"机动车违反规定停放、临时停车"},"fine":200.0,"points":0,"mode":"ONSITE",' ..
      '"state":"UNHANDLED","org":{"code":"500155000000","name":"重庆市梁平区公安局交通巡逻警察支队"},"updatedAt":1689036000000}'
  end
  template = '{"schema":"cq.traffic.violation/1","records":[' .. table.concat(records, ",") .. ']}'
end

function request()
  counter = counter + 1
  local tag = (os.getenv("XGW_RUN") or "R") .. "T" .. thread_id .. "N" .. counter
  local body = template:gsub("__TAG__", tag)
  return wrk.format("POST", "/v1/documents", {
    ["Authorization"] = "Bearer " .. os.getenv("XGW_TOKEN"),
    ["Content-Type"] = "application/json",
  }, body)
end

local non200 = 0
function response(status, headers, body)
  if status ~= 200 then non200 = non200 + 1 end
end

function done(summary, latency, requests)
  local seconds = summary.duration / 1e6
  io.write(string.format("documents: %d in %.1f s, %.1f documents/s = %.0f records/s, errors %d\n",
    summary.requests, seconds, summary.requests / seconds, 100 * summary.requests / seconds,
    summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
  for _, p in ipairs({50, 90, 99}) do
    io.write(string.format("latency p%d: %.1f ms\n", p, latency:percentile(p) / 1000))
  end
end
