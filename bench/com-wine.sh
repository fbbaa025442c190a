#!/usr/bin/env bash
# The COM path's cost (issue 7; docs/BENCHMARKS.md): the same request —
# CustomerQuery by ListID on the sample company — through
#   (L) the Linux connector, simulator in process (the baseline);
#   (S) the Windows connector under wine, simulator in process (what wine
#       itself costs: sockets, threads, SQLite I/O);
#   (C) the Windows connector under wine, backend "com": the STA worker,
#       late-bound IDispatch calls into fakeqb.dll (the fake request
#       processor, simulator linked in);
#   (T) (C) on a persistent session (X-QB-Ticket): ProcessRequest only;
#   (K) (C) with [backend] connected_to_qb = true, no ticket: the session
#       the connector keeps for everyone.
# One connection (serial: 1/rate is the time per request) and 16
# connections, ROUNDS rounds interleaved; medians reported. Then, without
# HTTP, where the COM path's time goes (crates/server/examples/com_calls.rs).
# Usage: bench/com-wine.sh [SECONDS per run, default 5] [ROUNDS, default 3]
# Needs wine64, gcc-mingw-w64-x86-64 and the x86_64-pc-windows-gnu target
# (.ci/wine-tests installs them) and wrk.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-5}
rounds=${2:-3}
G=x86_64-pc-windows-gnu

cargo build --release -q -p qbconnector -p qbsim --features qbsim/cli
cargo build --release -q --workspace --target $G
cargo build --release -q --workspace --target $G --examples
bin=target/release
wbin=target/$G/release
work=$(mktemp -d)
export PATH=/usr/lib/wine:$PATH DISPLAY= WINEDEBUG=-all WINEDLLOVERRIDES="mscoree,mshtml="
export WINEPREFIX=$work/prefix
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wineserver -k >/dev/null 2>&1 || true; rm -rf "$work"
}
trap cleanup EXIT

x86_64-w64-mingw32-gcc -O2 -shared -o "$work/bcryptprimitives.dll" crates/fakeqb/shim/bcryptprimitives.c -ladvapi32
wine64 wineboot -i >/dev/null 2>&1
cp "$work/bcryptprimitives.dll" "$WINEPREFIX/drive_c/windows/system32/"
wine64 regsvr32 /s "Z:$(pwd -P | tr / '\\')\\$(tr / '\\' <<<"$wbin")\\fakeqb.dll"
win() { printf 'Z:%s' "$1" | tr / '\\'; }

password='bench password 1'
auth="Basic $(printf 'bench:%s' "$password" | base64 -w0)"
"$bin/qbsim" create "$work/sample.qbw" >/dev/null
cat > "$work/first.xml" <<'XML'
<?xml version="1.0"?><?qbxml version="13.0"?><QBXML><QBXMLMsgsRq onError="stopOnError"><CustomerQueryRq requestID="1"><MaxReturned>1</MaxReturned></CustomerQueryRq></QBXMLMsgsRq></QBXML>
XML
listid=$("$bin/qbsim" process "$work/sample.qbw" "$work/first.xml" | sed -n 's:.*<ListID>\(.*\)</ListID>.*:\1:p' | head -1)
cat > "$work/point.xml" <<XML
<?xml version="1.0"?><?qbxml version="13.0"?><QBXML><QBXMLMsgsRq onError="stopOnError"><CustomerQueryRq requestID="1"><ListID>$listid</ListID></CustomerQueryRq></QBXMLMsgsRq></QBXML>
XML

server() { # name port kind how (linux|wine) [more TOML for [backend]]
  local dir="$work/$1"; mkdir -p "$dir/data"
  cp "$work/sample.qbw" "$dir/data/"
  local data="$dir/data"; [ "$4" = wine ] && data=$(win "$dir/data")
  cat > "$dir/qbconnector.toml" <<TOML
listen = "127.0.0.1:$2"
[backend]
kind = "$3"
data_dir = '$data'
default_company = "sample.qbw"
${5:-}
[[users]]
name = "bench"
password_hash = "$hash"
company_file = '$( [ "$3" = com ] && echo 'C:\books\sample.qbw' || echo sample.qbw )'
TOML
  if [ "$4" = wine ]; then
    FAKEQB_DATA=$(win "$dir/data") RUST_LOG=warn wine64 "$wbin/qbconnector.exe" serve --config "$(win "$dir/qbconnector.toml")" 2>"$dir/log" &
  else
    RUST_LOG=warn "$bin/qbconnector" serve --config "$dir/qbconnector.toml" 2>"$dir/log" &
  fi
  pids+=($!)
}
printf '%s\n' "$password" | "$bin/qbconnector" user add bench --password-stdin --config "$work/h.toml" >/dev/null
hash=$(sed -n 's/^password_hash = "\(.*\)"/\1/p' "$work/h.toml")
server linux 2191 simulator linux
server winsim 2192 simulator wine
server wincom 2193 com wine
server winkept 2194 com wine "connected_to_qb = true
[default_connection]
connection = 'CompanyFile=\"C:\\books\\sample.qbw\"'"
for p in 2191 2192 2193 2194; do
  for _ in $(seq 100); do curl -s -o /dev/null "http://127.0.0.1:$p/healthz" && break; sleep 0.2; done
done
ticket=$(curl -s -D - -o /dev/null -X POST -H "Authorization: $auth" http://127.0.0.1:2193/session | sed -n 's/^[Xx]-[Qq][Bb]-[Tt]icket: *\([^\r]*\).*/\1/p')
[ -n "$ticket" ] || { echo "no session ticket"; exit 1; }

declare -A all
run() { # label url conns key [ticket]
  local out rps bad
  out=$(BODY_FILE="$work/point.xml" AUTH="$auth" TICKET="${5:-}" wrk -t1 -c"$3" -d"${secs}s" --latency -s bench/post.lua "$2")
  rps=$(sed -n 's/^rps //p' <<<"$out"); bad=$(sed -n 's/^non2xx //p' <<<"$out")
  printf '%-52s c=%-3s %8s req/s  %7.1f µs/request  non-2xx %s\n' "$1" "$3" "$rps" "$(awk -v r="$rps" 'BEGIN{print 1e6/r}')" "$bad"
  all[$4]+="$rps "
}
median() { tr ' ' '\n' <<<"$1" | grep . | sort -n | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'; }
echo "wrk -t1, ${secs}s per run, $rounds rounds, $(nproc) cores shared by wrk, wine and the servers"
for r in $(seq "$rounds"); do
  echo "-- round $r"
  for c in 1 16; do
    run "(L) Linux, simulator in process"        http://127.0.0.1:2191/ $c "L$c"
    run "(S) wine, simulator in process"         http://127.0.0.1:2192/ $c "S$c"
    run "(C) wine, COM → fakeqb.dll"             http://127.0.0.1:2193/ $c "C$c"
    run "(T) wine, COM, persistent session"      http://127.0.0.1:2193/ $c "T$c" "$ticket"
    run "(K) wine, COM, connected_to_qb"         http://127.0.0.1:2194/ $c "K$c"
  done
done
echo "-- medians (req/s; µs per request = 1e6 / req/s at c=1)"
for c in 1 16; do
  for k in L S C T K; do printf '%s c=%s: %s\n' "$k" "$c" "$(median "${all[$k$c]}")"; done
done
awk -v s="$(median "${all[S1]}")" -v c="$(median "${all[C1]}")" -v t="$(median "${all[T1]}")" -v k="$(median "${all[K1]}")" -v l="$(median "${all[L1]}")" 'BEGIN {
  printf "COM per request, serial: (C) - (S) = %.0f µs (open, preferences, session and close each time); (T) - (S) = %.0f µs (ProcessRequest only); (K) - (S) = %.0f µs (connected_to_qb)\n", 1e6/c - 1e6/s, 1e6/t - 1e6/s, 1e6/k - 1e6/s
  printf "wine itself, serial: (S) - (L) = %.0f µs\n", 1e6/s - 1e6/l }'
echo "-- without HTTP, under wine (crates/server/examples/com_calls.rs, 3000 requests each)"
FAKEQB_DATA= wine64 "$wbin/examples/com_calls.exe" 3000
