-- wrk script: POST the file named by BODY_FILE with Basic credentials.
local f = assert(io.open(os.getenv("BODY_FILE"), "rb"))
wrk.method = "POST"
wrk.body = f:read("*a")
f:close()
wrk.headers["Content-Type"] = os.getenv("CONTENT_TYPE") or "text/xml"
wrk.headers["Authorization"] = os.getenv("AUTH")
-- A persistent session's ticket, when given (bench/com-wine.sh).
local ticket = os.getenv("TICKET")
if ticket ~= nil and ticket ~= "" then
  wrk.headers["X-QB-Ticket"] = ticket
end

-- summary.errors.status counts non-2xx answers: a run that only measured
-- errors is visible.
function done(summary, latency, requests)
  io.write(string.format("non2xx %d\n", summary.errors.status))
  io.write(string.format("p50_us %d\np99_us %d\nrps %.0f\n",
    latency:percentile(50), latency:percentile(99),
    summary.requests / (summary.duration / 1e6)))
end
