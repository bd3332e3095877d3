-- wrk script: POSTs one file's bytes as every request's body.
--   BODY_FILE     the file (a JPEG for /classify, a v2 request for /infer)
--   BODY_HEADERS  extra headers, "Name: value" separated by ';'
local file = assert(io.open(os.getenv("BODY_FILE"), "rb"))
wrk.method = "POST"
wrk.body = file:read("*a")
file:close()
for header in string.gmatch(os.getenv("BODY_HEADERS") or "", "[^;]+") do
  local name, value = string.match(header, "^%s*(.-)%s*:%s*(.-)%s*$")
  wrk.headers[name] = value
end

-- One line of figures for bench/serve/load_test.py; errors_status counts non-2xx answers.
function done(summary, latency, requests)
  io.write(string.format("requests=%d errors_connect=%d errors_read=%d errors_write=%d " ..
                         "errors_status=%d errors_timeout=%d\n",
                         summary.requests, summary.errors.connect, summary.errors.read,
                         summary.errors.write, summary.errors.status, summary.errors.timeout))
  for _, p in ipairs({50, 90, 99}) do
    io.write(string.format("latency_p%d_ms=%.2f\n", p, latency:percentile(p) / 1000))
  end
end
