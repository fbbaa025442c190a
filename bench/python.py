"""The Python package's benchmarks (docs/BENCHMARKS.md, issue 17).

Run with the package installed (README) and httpx and requests beside it:

    .venv/bin/pip install httpx requests
    .venv/bin/python bench/python.py [SECONDS per run, default 5] [ROUNDS, default 3]

1. Client: point queries (CustomerQuery by ListID on the simulator's
   sample company), one kept-alive connection, one thread, against a
   connector in this process: QBClient.send vs httpx.Client.post vs
   requests.Session.post doing the same HTTP exchange. Rounds interleave
   the three; the summary is each one's median requests per second.
2. Events: the connector serving HostQuery to wrk (2 threads, 32
   connections, as bench/server.sh loads it) without handlers, and with a
   Python on_authorization and on_request installed. The ratio is the
   target (>= 0.5).
3. A slow handler: on_request sleeps 50 ms for user `slow`'s requests;
   4 threads send as `slow` while one thread sends as `fast`. `fast`'s
   latency (p50, p99) beside the same without the slow load.
"""

from __future__ import annotations

import base64
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from qbconnector import QBClient, QBConnector, Simulator

PASSWORD = "bench password 1"


def qbxml(inner: str) -> str:
    return (
        '<?xml version="1.0"?><?qbxml version="13.0"?><QBXML>'
        f'<QBXMLMsgsRq onError="stopOnError">{inner}</QBXMLMsgsRq></QBXML>'
    )


HOST = qbxml('<HostQueryRq requestID="1"/>')


def connector(data: Path) -> QBConnector:
    c = QBConnector()
    c.config(f"DataDir={data}")
    c.local_host = "127.0.0.1"
    c.local_port = 0
    c.add_user("bench", PASSWORD, "CompanyFile='sample.qbw'")
    c.add_user("slow", PASSWORD, "CompanyFile='sample.qbw'")
    c.add_user("fast", PASSWORD, "CompanyFile='other.qbw'")
    return c


def rate(send, secs: float) -> float:
    n, end = 0, time.perf_counter() + secs
    while time.perf_counter() < end:
        send()
        n += 1
    return n / secs


def clients(port: int, point: str, secs: float, rounds: int) -> dict[str, list[float]]:
    url = f"http://127.0.0.1:{port}/"
    auth = "Basic " + base64.b64encode(f"bench:{PASSWORD}".encode()).decode()
    headers = {"Authorization": auth, "Content-Type": "text/xml"}
    body = point.encode()
    runs: dict[str, list[float]] = {}
    q = QBClient(f"URL='http://127.0.0.1:{port}' User='bench' Password='{PASSWORD}'")
    contenders = {"QBClient.send": lambda: q.send(point)}
    try:
        import httpx

        hx = httpx.Client()

        def via_httpx() -> None:
            r = hx.post(url, content=body, headers=headers)
            assert r.status_code == 200

        contenders["httpx.Client.post"] = via_httpx
    except ImportError:
        print("httpx not installed: its row is left out", file=sys.stderr)
    try:
        import requests

        rs = requests.Session()

        def via_requests() -> None:
            r = rs.post(url, data=body, headers=headers)
            assert r.status_code == 200

        contenders["requests.Session.post"] = via_requests
    except ImportError:
        print("requests not installed: its row is left out", file=sys.stderr)
    for f in contenders.values():
        f()  # connect, and the password verified once
    for _ in range(rounds):
        for name, f in contenders.items():
            runs.setdefault(name, []).append(rate(f, secs))
    return runs


def wrk(port: int, secs: float, work: Path) -> float:
    lua = work / "post.lua"
    (work / "host.xml").write_text(HOST)
    auth = base64.b64encode(f"bench:{PASSWORD}".encode()).decode()
    lua.write_text(
        'wrk.method = "POST"\n'
        f'wrk.body = io.open("{work / "host.xml"}"):read("*a")\n'
        'wrk.headers["Content-Type"] = "text/xml"\n'
        f'wrk.headers["Authorization"] = "Basic {auth}"\n'
    )
    out = subprocess.run(
        ["wrk", "-t2", "-c32", f"-d{int(secs)}s", "-s", str(lua), f"http://127.0.0.1:{port}/"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    m = re.search(r"Requests/sec:\s+([\d.]+)", out)
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    assert non2xx is None, out
    return float(m.group(1)) if m else 0.0


def latencies(port: int, user: str, n: int) -> list[float]:
    c = QBClient(f"URL='http://127.0.0.1:{port}' User='{user}' Password='{PASSWORD}'")
    c.send(HOST)
    out = []
    for _ in range(n):
        t = time.perf_counter()
        c.send(HOST)
        out.append((time.perf_counter() - t) * 1000)
    return out


def pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(len(xs) * p))]


def main() -> None:
    secs = float(sys.argv[1]) if len(sys.argv) > 1 else 5.0
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        data = work / "data"
        data.mkdir()
        s = Simulator.sample(str(data / "sample.qbw"), customers=150, transactions=False)
        first = s.process(qbxml('<CustomerQueryRq requestID="1"><MaxReturned>1</MaxReturned></CustomerQueryRq>'))
        listid = re.search(r"<ListID>(.*?)</ListID>", first).group(1)  # type: ignore[union-attr]
        del s
        point = qbxml(f'<CustomerQueryRq requestID="1"><ListID>{listid}</ListID></CustomerQueryRq>')

        c = connector(data)
        c.listening = True
        port = c.local_port

        print(f"1. point queries, one connection, one thread ({rounds} rounds of {secs:g} s)")
        for name, xs in clients(port, point, secs, rounds).items():
            print(f"   {name:24} {statistics.median(xs):8.0f} req/s   rounds: {', '.join(f'{x:.0f}' for x in xs)}")

        if shutil.which("wrk"):
            print(f"2. HostQuery under wrk -t2 -c32 ({rounds} rounds of {secs:g} s)")
            plain, hooked = [], []
            calls = [0]

            def on_authorization(e) -> None:
                calls[0] += 1
                if e.user == "mallory":
                    e.accept = False

            def on_request(e) -> None:
                if "InvoiceAddRq" in e.request_types:
                    e.accept = False

            for _ in range(rounds):
                c.on_authorization = None
                c.on_request = None
                plain.append(wrk(port, secs, work))
                c.on_authorization = on_authorization
                c.on_request = on_request
                hooked.append(wrk(port, secs, work))
            c.on_authorization = None
            c.on_request = None
            a, b = statistics.median(plain), statistics.median(hooked)
            print(f"   without handlers        {a:8.0f} req/s   rounds: {', '.join(f'{x:.0f}' for x in plain)}")
            print(f"   with on_authorization + on_request {b:8.0f} req/s   rounds: {', '.join(f'{x:.0f}' for x in hooked)}")
            print(f"   ratio {b / a:.2f} (handlers called {calls[0]} times)")
        else:
            print("2. skipped: wrk is not installed")

        print("3. a handler sleeping 50 ms for user `slow`; latency of user `fast` (500 requests)")
        alone = latencies(port, "fast", 500)

        def on_request_slow(e) -> None:
            if e.user == "slow":
                time.sleep(0.05)

        c.on_request = on_request_slow
        stop = threading.Event()
        slow_done = [0]

        def slow_load() -> None:
            q = QBClient(f"URL='http://127.0.0.1:{port}' User='slow' Password='{PASSWORD}'")
            while not stop.is_set():
                q.send(HOST)
                slow_done[0] += 1

        threads = [threading.Thread(target=slow_load) for _ in range(4)]
        for t in threads:
            t.start()
        time.sleep(0.3)
        loaded = latencies(port, "fast", 500)
        stop.set()
        for t in threads:
            t.join()
        print(f"   fast alone:              p50 {pct(alone, 0.5):6.2f} ms  p99 {pct(alone, 0.99):6.2f} ms")
        print(
            f"   fast beside 4 slow:      p50 {pct(loaded, 0.5):6.2f} ms  p99 {pct(loaded, 0.99):6.2f} ms"
            f"   (slow requests answered meanwhile: {slow_done[0]})"
        )
        c.shutdown()


if __name__ == "__main__":
    main()
