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
for tool in valgrind callgrind_annotate wrk curl; do
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
count() {
  local name=$1 out=$2 port=$3 pattern=$4; shift 4
  (RUST_LOG=warn valgrind --tool=callgrind --callgrind-out-file="$out" "$@" >/dev/null 2>&1 &)
  for _ in $(seq 1 60); do sleep 0.5; curl -s -o /dev/null "http://127.0.0.1:$port/healthz" && break; done
  local n
  n=$(wrk -t1 -c4 -d10s -s "$work/post.lua" "http://127.0.0.1:$port/" | awk '/requests in/ {print $1}')
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
if [ -n "${BEFORE:-}" ]; then
  count "(b0) the same, the BEFORE binary" "$work/before.cg" 2191 "$task" \
    "$BEFORE/qbconnector" serve --config "$work/q.toml"
fi
