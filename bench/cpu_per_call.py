#!/usr/bin/env python3
"""Server CPU per request, one request at a time (docs/BENCHMARKS.md, the bridge).

POSTs BODY_BYTES of XML to URL back to back over one keep-alive connection for
SECONDS and reads the server process's CPU (user + system) from /proc/PID/stat.

Usage: bench/cpu_per_call.py URL PID [SECONDS=5] [BODY_BYTES=400]
Example (the bare hyper baseline):
    cargo build --release -p qbc-server --example hello
    target/release/examples/hello 18391 & bench/cpu_per_call.py http://127.0.0.1:18391/ $!
"""
import http.client
import os
import sys
import time
from urllib.parse import urlsplit


def cpu(pid):
    f = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK")


def main():
    url, pid = urlsplit(sys.argv[1]), int(sys.argv[2])
    secs = float(sys.argv[3]) if len(sys.argv) > 3 else 5.0
    body = b"<x/>" * (int(sys.argv[4]) // 4 if len(sys.argv) > 4 else 100)
    time.sleep(0.5)
    conn = http.client.HTTPConnection(url.hostname, url.port or 80)
    n, c0, t0 = 0, cpu(pid), time.time()
    while time.time() - t0 < secs:
        conn.request("POST", url.path or "/", body, {"Content-Type": "text/xml"})
        conn.getresponse().read()
        n += 1
    c1 = cpu(pid)
    print(f"{n / secs:.0f} requests/s, server CPU {1e6 * (c1 - c0) / n:.0f} us per request")


if __name__ == "__main__":
    main()
