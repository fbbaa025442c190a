#!/usr/bin/env bash
# What one message set of 200 full CustomerQuery requests costs the server
# (issue 14, defect 3): the answer's size, the time, and the server's peak
# memory (VmHWM), on a company of N customers.
#
#   bench/answer-bound.sh [QBCONNECTOR_BINARY] [CUSTOMERS]
#
# Defaults: target/release/qbconnector, 3000 customers. Run it with an older
# binary for the figure before the limit (docs/BENCHMARKS.md).
set -euo pipefail
BIN=${1:-target/release/qbconnector}
N=${2:-3000}
BIN=$(realpath "$BIN")
dir=$(mktemp -d)
trap 'kill "$pid" 2>/dev/null || true; rm -rf "$dir"' EXIT
cat >"$dir/qbconnector.toml" <<EOF
listen = "127.0.0.1:0"
[backend]
data_dir = "data"
default_company = "acme.qbw"
create_missing = true
EOF
echo "a long password" | "$BIN" user add ann --password-stdin --config "$dir/qbconnector.toml" >/dev/null
"$BIN" serve --config "$dir/qbconnector.toml" 2>"$dir/log" &
pid=$!
for _ in $(seq 100); do grep -q "serving http" "$dir/log" 2>/dev/null && break; sleep 0.1; done
url=$(grep -o "http://[0-9.:]*" "$dir/log" | head -1)
post() { curl -s -u "ann:a long password" -H 'Content-Type: text/xml' --data-binary @"$1" "$url/" -o "$2" -w '%{size_download} %{time_total}\n'; }
set_of() {
  printf '<?xml version="1.0"?><?qbxml version="13.0"?><QBXML><QBXMLMsgsRq onError="stopOnError">%s</QBXMLMsgsRq></QBXML>' "$1"
}
for b in $(seq 0 500 $((N - 1))); do
  adds=""
  for i in $(seq "$b" $((b + 499 < N - 1 ? b + 499 : N - 1))); do
    adds+="<CustomerAddRq><CustomerAdd><Name>Customer $i</Name><CompanyName>Company $i</CompanyName><BillAddress><Addr1>$i Main Street</Addr1><City>Springfield</City></BillAddress></CustomerAdd></CustomerAddRq>"
  done
  set_of "$adds" >"$dir/adds.xml"
  post "$dir/adds.xml" /dev/null >/dev/null
done
q=""
for i in $(seq 200); do q+="<CustomerQueryRq requestID=\"$i\"/>"; done
set_of "$q" >"$dir/q.xml"
read -r bytes secs < <(post "$dir/q.xml" "$dir/answer.xml")
hwm=$(awk '/VmHWM/ {print $2}' "/proc/$pid/status")
failed=$(grep -c 'statusCode="1000"' "$dir/answer.xml" || true)
echo "binary: $BIN"
echo "request: $(wc -c <"$dir/q.xml") bytes, 200 CustomerQueryRq on $N customers"
echo "answer: $bytes bytes in ${secs} s; requests refused for size: $failed"
echo "server peak memory (VmHWM): $((hwm / 1024)) MB"
