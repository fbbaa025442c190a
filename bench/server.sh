#!/usr/bin/env bash
# Side-by-side HTTP benchmark of the connector (docs/BENCHMARKS.md):
#   (a) a bare hyper hello-world (crates/server/examples/hello.rs)
#   (b) the connector with the in-memory backend (HostQuery)
#   (c) the connector with the simulator answering CustomerQuery by ListID
#   (d) (c) over HTTPS
#   (e) (c) with [backend] connected_to_qb = true (one session kept)
#   (f) (c) in the JSON form: the same query POSTed as JSON to /json of (c)'s server
# Usage: bench/server.sh [SECONDS per run, default 10] [CONNECTIONS, default 32] [ROUNDS, default 3]
# The five are run in turn, ROUNDS times over (interleaved, so a noisy
# moment hits all of them); the summary takes each one's median.
# BEFORE=DIR adds (b0) and (c0): (b) and (c) served by the qbconnector
# binary in DIR (an earlier build, for a before/after in the same run):
#   git worktree add /tmp/old <commit>
#   (cd /tmp/old && CARGO_TARGET_DIR=/tmp/old-target cargo build --release -p qbconnector)
#   BEFORE=/tmp/old-target/release bench/server.sh 10 32 3
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-10}
conns=${2:-32}
rounds=${3:-3}
threads=2

if ! command -v wrk >/dev/null 2>&1; then
  echo "installing wrk …"
  (apt-get update -qq && apt-get install -y -qq wrk >/dev/null) || { echo "cannot install wrk"; exit 1; }
fi

cargo build --release -q -p qbconnector -p qbsim --features qbsim/cli
cargo build --release -q -p qbc-server --example hello
bin=target/release
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT

password='bench password 1'
auth="Basic $(printf 'bench:%s' "$password" | base64 -w0)"

# A sample company and one customer's ListID.
"$bin/qbsim" create "$work/sample.qbw" >/dev/null
cat > "$work/first.xml" <<'XML'
<?xml version="1.0"?><?qbxml version="13.0"?><QBXML><QBXMLMsgsRq onError="stopOnError"><CustomerQueryRq requestID="1"><MaxReturned>1</MaxReturned></CustomerQueryRq></QBXMLMsgsRq></QBXML>
XML
listid=$("$bin/qbsim" process "$work/sample.qbw" "$work/first.xml" | sed -n 's:.*<ListID>\(.*\)</ListID>.*:\1:p' | head -1)
cat > "$work/point.json" <<JSON
{"version":"13.0","QBXML":{"QBXMLMsgsRq":{"@onError":"stopOnError","CustomerQueryRq":[{"@requestID":"1","ListID":["$listid"]}]}}}
JSON
cat > "$work/host.xml" <<'XML'
<?xml version="1.0"?><?qbxml version="13.0"?><QBXML><QBXMLMsgsRq onError="stopOnError"><HostQueryRq requestID="1"/></QBXMLMsgsRq></QBXML>
XML
cat > "$work/point.xml" <<XML
<?xml version="1.0"?><?qbxml version="13.0"?><QBXML><QBXMLMsgsRq onError="stopOnError"><CustomerQueryRq requestID="1"><ListID>$listid</ListID></CustomerQueryRq></QBXMLMsgsRq></QBXML>
XML

config() { # name kind port tls [binary dir] [more [backend] lines]
  local dir="$work/$1" bin="${5:-$bin}"; mkdir -p "$dir/data"
  # Each server owns its copy: the connector holds its company files locked.
  cp "$work/sample.qbw" "$dir/data/"
  cat > "$dir/qbconnector.toml" <<TOML
listen = "127.0.0.1:$3"
[backend]
kind = "$2"
data_dir = "$dir/data"
default_company = "sample.qbw"
${6:-}
TOML
  printf '%s\n' "$password" | "$bin/qbconnector" user add bench --password-stdin --config "$dir/qbconnector.toml" >/dev/null
  if [ "$4" = tls ]; then
    "$bin/qbconnector" cert generate --host localhost --host 127.0.0.1 --config "$dir/qbconnector.toml" >/dev/null
  fi
  RUST_LOG=warn "$bin/qbconnector" serve --config "$dir/qbconnector.toml" 2>"$dir/log" &
  pids+=($!)
}

"$bin/examples/hello" 2181 & pids+=($!)
config memory memory 2182 plain
config sim simulator 2183 plain
config simtls simulator 2184 tls
config simkept simulator 2187 plain "$bin" "connected_to_qb = true"
before=${BEFORE:-}
if [ -n "$before" ]; then
  config memory0 memory 2185 plain "$before"
  config sim0 simulator 2186 plain "$before"
fi
sleep 1

declare -A all_rps all_p99
run() { # label url body key [content type]
  local out rps p50 p99 bad
  out=$(BODY_FILE="$3" AUTH="$auth" CONTENT_TYPE="${5:-text/xml}" wrk -t$threads -c"$conns" -d"${secs}s" --latency -s bench/post.lua "$2")
  rps=$(sed -n 's/^rps //p' <<<"$out"); p50=$(sed -n 's/^p50_us //p' <<<"$out")
  p99=$(sed -n 's/^p99_us //p' <<<"$out"); bad=$(sed -n 's/^non2xx //p' <<<"$out")
  printf '%-44s %9s req/s  p50 %6s µs  p99 %6s µs  non-2xx %s\n' "$1" "$rps" "$p50" "$p99" "$bad"
  all_rps[$4]+="$rps "; all_p99[$4]+="$p99 "
}
median() { tr ' ' '\n' <<<"$1" | grep . | sort -n | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'; }

echo "wrk: $threads threads, $conns connections, ${secs}s per run, $rounds rounds, $(nproc) cores shared with the servers"
for r in $(seq "$rounds"); do
  echo "-- round $r"
  run "(a) bare hyper hello-world"                  http://127.0.0.1:2181/ "$work/host.xml" a
  run "(b) connector + memory backend (HostQuery)"  http://127.0.0.1:2182/ "$work/host.xml" b
  run "(c) connector + simulator, CustomerQuery"    http://127.0.0.1:2183/ "$work/point.xml" c
  run "(d) (c) over HTTPS"                          https://127.0.0.1:2184/ "$work/point.xml" d
  run "(e) (c) with connected_to_qb"                http://127.0.0.1:2187/ "$work/point.xml" e
  run "(f) (c) in the JSON form (/json)"            http://127.0.0.1:2183/json "$work/point.json" f application/json
  if [ -n "$before" ]; then
    run "(b0) (b), the BEFORE binary"               http://127.0.0.1:2185/ "$work/host.xml" b0
    run "(c0) (c), the BEFORE binary"               http://127.0.0.1:2186/ "$work/point.xml" c0
  fi
done
echo "-- medians"
keys="a b c d e f"; [ -n "$before" ] && keys="$keys b0 c0"
for k in $keys; do printf '%s: %s req/s, p99 %s µs\n' "$k" "$(median "${all_rps[$k]}")" "$(median "${all_p99[$k]}")"; done
awk -v a="$(median "${all_rps[a]}")" -v b="$(median "${all_rps[b]}")" -v c="$(median "${all_rps[c]}")" \
    -v pa="$(median "${all_p99[a]}")" -v pb="$(median "${all_p99[b]}")" 'BEGIN {
  printf "(b)/(a) = %.2f (goal >= 0.6)\n(c)/(a) = %.2f (goal >= 0.3)\n", b/a, c/a
  printf "p99 (b) - p99 (a): %.3f ms (goal: the connector adds < 1 ms)\n", (pb-pa)/1000 }'
# JSON against qbXML: (f) runs right after (c) on the same server, so
# each round's ratio is a fair pair; their median is the figure (this
# machine's speed drifts by a third from minute to minute).
pairs=$(paste -d' ' <(tr ' ' '\n' <<<"${all_rps[c]}" | grep .) <(tr ' ' '\n' <<<"${all_rps[f]}" | grep .) \
  | awk '{printf "%.3f ", $2/$1}')
printf '(f)/(c) per round: %s→ median %s (JSON against qbXML, goal >= 0.85)\n' "$pairs" "$(median "$pairs")"
if [ -n "$before" ]; then
  awk -v a="$(median "${all_rps[a]}")" -v b="$(median "${all_rps[b0]}")" -v c="$(median "${all_rps[c0]}")" 'BEGIN {
  printf "before: (b0)/(a) = %.2f, (c0)/(a) = %.2f\n", b/a, c/a }'
fi
