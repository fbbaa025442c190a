#!/usr/bin/env bash
# The Web Connector bridge under load, side by side with a peer
# (docs/BENCHMARKS.md): the same driver, ../shared/tools/qbwc_load.py,
# plays C Web Connectors (one per company file, each on its company's own
# path /qbwc/cN) against `qbconnector serve` (kind = "qbwc"), while wrk
# posts CustomerQuery for every company file (two waiting per company, so a
# job is always there when its Web Connector asks). Then
# ../shared/tools/peer_qbwc_bench.sh runs the same driver against
# quickbooks-js (node, from the npm registry).
#
# Usage: bench/qbwc.sh [SECONDS per run, default 10] [Web Connector counts, default "1 4 100"]
# PEER=0 skips quickbooks-js. Prints each run's last line and the server's
# CPU per SOAP call (which here includes the clients' own requests: one
# HTTP request per job, about a quarter of the calls).
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-10}
counts=${2:-"1 4 100"}
tools=../shared/tools
[ -f "$tools/qbwc_load.py" ] || { echo "needs $tools/qbwc_load.py (../shared)"; exit 1; }
command -v wrk >/dev/null || { echo "needs wrk (apt-get install wrk)"; exit 1; }

cargo build --release -q -p qbconnector
bin=$PWD/target/release/qbconnector
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT

port=18290
for c in $counts; do
  cfg=$work/c$c.toml
  printf 'listen = "127.0.0.1:%s"\nmax_connections_per_client = 8192\n[backend]\ndata_dir = "%s/data%s"\n[backend.qbwc]\nkeep_alive_secs = 0\nwait_secs = 60\n' \
    "$port" "$work" "$c" >"$cfg"
  # One Web Connector user for all: each company file logs in on its own path.
  for ((i = 0; i < c; i++)); do
    echo benchpass | "$bin" qbwc add "c$i" --user benchuser --password-stdin --config "$cfg" >/dev/null
  done
  echo 'bench password 1' | "$bin" user add bench --client-company-file --password-stdin --config "$cfg" >/dev/null
  "$bin" serve --config "$cfg" >"$work/serve$c.log" 2>&1 &
  server=$!
  pids+=("$server")
  for _ in $(seq 1 100); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.1; done
  cat >"$work/post.lua" <<LUA
local i = 0
local body = '<?xml version="1.0"?><?qbxml version="13.0"?><QBXML><QBXMLMsgsRq onError="stopOnError"><CustomerQueryRq requestID="1"><MaxReturned>3</MaxReturned></CustomerQueryRq></QBXMLMsgsRq></QBXML>'
request = function()
  i = (i + 1) % $c
  return wrk.format("POST", "/", {["Authorization"] = "Basic $(printf 'bench:bench password 1' | base64 -w0)",
    ["Content-Type"] = "text/xml", ["X-QB-Connection"] = "CompanyFile='c" .. i .. "'"}, body)
end
LUA
  urls=()
  for ((i = 0; i < c; i++)); do urls+=(--url "http://127.0.0.1:$port/qbwc/c$i"); done
  procs=1; [ "$c" -ge 100 ] && procs=2
  wrk -t1 -c $((2 * c)) -d $((secs + 6))s --timeout 30s -s "$work/post.lua" "http://127.0.0.1:$port/" >"$work/wrk$c.txt" &
  wrkpid=$!
  python3 "$tools/qbwc_load.py" "${urls[@]}" --user benchuser --password benchpass -c "$c" --procs "$procs" \
    -d "$secs" --warmup 2 --max-noops 0 --server-pid "$server" --label "qbconnector, $c Web Connector(s)" \
    | tail -4
  wait "$wrkpid" || true
  grep -E "Requests/sec|Non-2xx" "$work/wrk$c.txt" | sed 's/^/  clients (wrk): /'
  kill "$server"; wait "$server" 2>/dev/null || true
  port=$((port + 1))
done

if [ "${PEER:-1}" = 1 ]; then
  for c in $counts; do
    [ "$c" = 1 ] && continue
    echo "== quickbooks-js, $c Web Connector(s)"
    bash "$tools/peer_qbwc_bench.sh" -d "$secs" -c "$c" 2>&1 | grep -E "^(quickbooks-js|==|cpu|  server)" || true
  done
fi
