#!/usr/bin/env bash
# Instructions the connector executes per request, counted by callgrind:
# a deterministic figure beside bench/server.sh's throughput, which moves
# with the machine's load. The connector (memory backend, HostQuery, Basic
# credentials from the cache) runs under valgrind while wrk sends requests
# for 10 s on 4 connections; the figure is the connection task's
# instructions (hyper, login, validation, lane, backend call, reply)
# divided by the requests answered. Bare hyper (examples/hello) is counted
# whole, for scale. (s) and (k): the simulator backend answering the same
# HostQuery in place (its work counts too), without and with
# [backend] connected_to_qb.
#
# Usage: bench/server-instructions.sh            # this tree's release build
#        BEFORE=DIR bench/server-instructions.sh # and the qbconnector in DIR
set -euo pipefail
cd "$(dirname "$0")/.."
for tool in valgrind callgrind_annotate callgrind_control wrk curl; do
  command -v "$tool" >/dev/null || { echo "needs $tool (apt-get install valgrind wrk curl)"; exit 1; }
done
cargo build --release -q -p qbconnector -p qbsim --features qbsim/cli
cargo build --release -q -p qbc-server --example hello
work=$(mktemp -d)
trap 'pkill -f "callgrind-out-file=$work" 2>/dev/null || true; rm -rf "$work"' EXIT
password='bench password 1'
mkdir -p "$work/data"
cat > "$work/q.toml" <<TOML
listen = "127.0.0.1:2191"
[backend]
kind = "memory"
data_dir = "$work/data"
default_company = "sample.qbw"
TOML
printf '%s\n' "$password" | target/release/qbconnector user add bench --password-stdin --config "$work/q.toml" >/dev/null
target/release/qbsim create "$work/data/sample.qbw" >/dev/null
for kept in false true; do
  sed -e 's/kind = "memory"/kind = "simulator"/' "$work/q.toml" >"$work/sim-$kept.toml"
  sed -i "s/^default_company = .*/&\nconnected_to_qb = $kept/" "$work/sim-$kept.toml"
done
printf '<?xml version="1.0"?><?qbxml version="13.0"?><QBXML><QBXMLMsgsRq onError="stopOnError"><HostQueryRq requestID="1"/></QBXMLMsgsRq></QBXML>\n' > "$work/host.xml"
cat > "$work/post.lua" <<LUA
wrk.method = "POST"
wrk.body = io.open("$work/host.xml"):read("*a")
wrk.headers["Content-Type"] = "application/xml"
wrk.headers["Authorization"] = "Basic $(printf 'bench:%s' "$password" | base64 -w0)"
LUA

# count NAME OUT PORT PATTERN CMD...: requests answered and instructions per request.
# LUA and URL_PATH (default post.lua and /) choose what wrk sends.
count() {
  local name=$1 out=$2 port=$3 pattern=$4; shift 4
  (RUST_LOG=warn valgrind --tool=callgrind --callgrind-out-file="$out" "$@" >/dev/null 2>&1 &)
  for _ in $(seq 1 60); do sleep 0.5; curl -s -o /dev/null "http://127.0.0.1:$port/healthz" && break; done
  # One request first, then the counters zeroed: the start and the
  # login's argon2 run (tens of millions of instructions) are not counted,
  # rather than spread over however many requests a row managed.
  curl -s -o /dev/null -u "bench:$password" -H "Content-Type: application/xml" \
    --data-binary @"$work/host.xml" "http://127.0.0.1:$port/"
  callgrind_control -z "$(pgrep -f "callgrind-out-file=$out" | head -n 1)" >/dev/null 2>&1
  local n
  n=$(wrk -t1 -c4 -d10s -s "${LUA:-$work/post.lua}" "http://127.0.0.1:$port${URL_PATH:-/}" | awk '/requests in/ {print $1}')
  pkill -INT -f "callgrind-out-file=$out"; sleep 4; pkill -f "callgrind-out-file=$out" 2>/dev/null || true; sleep 1
  local total
  if [ -n "$pattern" ]; then
    total=$(callgrind_annotate --inclusive=yes "$out" 2>/dev/null | grep -F "$pattern" | head -1 | awk '{gsub(",","",$1); print $1}')
  else
    total=$(callgrind_annotate "$out" 2>/dev/null | awk '/PROGRAM TOTALS/ {gsub(",","",$1); print $1}')
  fi
  printf '%-44s %8d requests  %8d instructions per request\n' "$name" "$n" $((total / n))
}
task='qbc_server::server::serve::{{closure}}::{{closure}} ['
count "(a) bare hyper, whole program" "$work/hello.cg" 2195 "" target/release/examples/hello 2195
count "(b) connector + memory backend, connection task" "$work/now.cg" 2191 "$task" \
  target/release/qbconnector serve --config "$work/q.toml"
count "(s) connector + simulator, connection task" "$work/sim.cg" 2191 "$task" \
  target/release/qbconnector serve --config "$work/sim-false.toml"
count "(k) (s) with connected_to_qb" "$work/kept.cg" 2191 "$task" \
  target/release/qbconnector serve --config "$work/sim-true.toml"
# (q) and (j): CustomerQuery by ListID on the simulator, in qbXML on / and
# in the JSON form on /json (issue 19): the JSON door's cost per request.
printf '<?xml version="1.0"?><?qbxml version="13.0"?><QBXML><QBXMLMsgsRq onError="stopOnError"><CustomerQueryRq requestID="1"><MaxReturned>1</MaxReturned></CustomerQueryRq></QBXMLMsgsRq></QBXML>' > "$work/first.xml"
listid=$(target/release/qbsim process "$work/data/sample.qbw" "$work/first.xml" | sed -n 's:.*<ListID>\(.*\)</ListID>.*:\1:p' | head -1)
printf '<?xml version="1.0"?><?qbxml version="13.0"?><QBXML><QBXMLMsgsRq onError="stopOnError"><CustomerQueryRq requestID="1"><ListID>%s</ListID></CustomerQueryRq></QBXMLMsgsRq></QBXML>' "$listid" > "$work/point.xml"
printf '{"version":"13.0","QBXML":{"QBXMLMsgsRq":{"@onError":"stopOnError","CustomerQueryRq":[{"@requestID":"1","ListID":["%s"]}]}}}' "$listid" > "$work/point.json"
for k in xml json; do
  sed -e "s|host.xml|point.$k|" -e "s|application/xml|application/$k|" "$work/post.lua" > "$work/$k.lua"
done
LUA="$work/xml.lua" count "(q) simulator, CustomerQuery by ListID, qbXML" "$work/q.cg" 2191 "$task" \
  target/release/qbconnector serve --config "$work/sim-false.toml"
LUA="$work/json.lua" URL_PATH=/json count "(j) the same query in JSON on /json" "$work/j.cg" 2191 "$task" \
  target/release/qbconnector serve --config "$work/sim-false.toml"
if [ -n "${BEFORE:-}" ]; then
  count "(b0) the same, the BEFORE binary" "$work/before.cg" 2191 "$task" \
    "$BEFORE/qbconnector" serve --config "$work/q.toml"
fi
