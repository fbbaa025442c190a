#!/usr/bin/env python3
"""Pick-up latency of the Web Connector bridge (docs/BENCHMARKS.md).

Starts `qbconnector serve` (kind = "qbwc") twice — with the NoOp keep-alive
(QBWC asks again 5 s after each NoOp) and with the long poll — and in each
runs ../shared/tools/qbwc_emulator.py as the Web Connector (zeep, its fake
QuickBooks answering at once, the real 5 s NoOp pause), while a client
posts a CustomerQuery at random moments; prints p50/p99 of the time from
each POST to its answer.

Usage: bench/qbwc_latency.py [REQUESTS per mode, default 40]
Needs a Python with zeep 4.3.3 as PYTHON (default python3), and the release
binary (cargo build --release -p qbconnector).
"""
import base64
import os
import random
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = ROOT / "target" / "release" / "qbconnector"
EMULATOR = ROOT.parent / "shared" / "tools" / "qbwc_emulator.py"
PYTHON = os.environ.get("PYTHON", "python3")
QUERY = ('<?xml version="1.0"?><?qbxml version="13.0"?><QBXML><QBXMLMsgsRq onError="stopOnError">'
         '<CustomerQueryRq requestID="1"><MaxReturned>3</MaxReturned></CustomerQueryRq>'
         '</QBXMLMsgsRq></QBXML>').encode()


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def run(mode, n):
    with tempfile.TemporaryDirectory() as d:
        cfg = Path(d) / "c.toml"
        port = free_port()
        long_poll = 30 if mode == "long poll" else 0
        cfg.write_text(f'listen = "127.0.0.1:{port}"\n[backend]\ndata_dir = "{d}/data"\n'
                       f'[backend.qbwc]\nkeep_alive_secs = 600\nlong_poll_secs = {long_poll}\n')
        sh = lambda *a, stdin: subprocess.run([str(BIN), *a, "--config", str(cfg)], input=stdin,
                                              text=True, check=True, capture_output=True)
        sh("qbwc", "add", "lat", "--user", "wc", "--password-stdin", stdin="wc-password-1\n")
        sh("user", "add", "c", "--company-file", "lat", "--password-stdin", stdin="client-password\n")
        server = subprocess.Popen([str(BIN), "serve", "--config", str(cfg)],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(0.5)
        auth = "Basic " + base64.b64encode(b"c:client-password").decode()

        def post():
            t0 = time.perf_counter()
            req = urllib.request.Request(f"http://127.0.0.1:{port}/", data=QUERY,
                                         headers={"Authorization": auth, "Content-Type": "text/xml"})
            with urllib.request.urlopen(req, timeout=60) as r:
                r.read()
            return time.perf_counter() - t0

        # The first request opens the Web Connector's session.
        import threading
        first = {}
        t = threading.Thread(target=lambda: first.update(lat=post()))
        t.start()
        time.sleep(0.2)
        emu = subprocess.Popen([PYTHON, str(EMULATOR), "--url", f"http://localhost:{port}/qbwc",
                                "--user", "wc", "--password", "wc-password-1", "--records", "3",
                                "--max-requests", "100000", "--timeout", "60"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        t.join()
        lats = []
        rng = random.Random(7)
        try:
            for _ in range(n):
                time.sleep(rng.uniform(0.0, 3.0))
                lats.append(post())
        finally:
            emu.terminate()
            server.terminate()
            emu.wait()
            server.wait()
        lats.sort()
        q = lambda p: lats[min(len(lats) - 1, int(round(p * (len(lats) - 1))))]
        print(f"{mode}: {n} requests, p50 {q(0.5) * 1000:.0f} ms, p99 {q(0.99) * 1000:.0f} ms, "
              f"max {lats[-1] * 1000:.0f} ms", flush=True)


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 40
    for mode in ("NoOp keep-alive", "long poll"):
        run(mode, n)


if __name__ == "__main__":
    main()
