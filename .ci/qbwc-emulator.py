#!/usr/bin/env python3
"""The Web Connector bridge against ../shared/tools/qbwc_emulator.py (zeep 4.3.3).

Starts `qbconnector serve` with backend.kind = "qbwc" on a free loopback
port (its company file and users made with the CLI: `qbwc add`, `user add`),
then runs each of the emulator's scenarios while a client's request waits
for its answer, and checks both sides: the emulator's exit status and what
the client got (HTTP status, X-QB-Error-Code). Also the emulator's raw
transport (QBWC-like bytes; it warns on any reply that does not match the
WSDL) and the authenticate refusals.

Usage: qbwc-emulator.py QBCONNECTOR_BINARY PYTHON_WITH_ZEEP
"""
import base64
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
EMULATOR = HERE.parent.parent / "shared" / "tools" / "qbwc_emulator.py"
QUERY = ('<?xml version="1.0"?><?qbxml version="13.0"?><QBXML><QBXMLMsgsRq onError="stopOnError">'
         '<CustomerQueryRq requestID="1"><MaxReturned>3</MaxReturned></CustomerQueryRq>'
         '</QBXMLMsgsRq></QBXML>')
failures = []


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def client(port, out):
    auth = base64.b64encode(b"ci:ci-password-1").decode()
    req = urllib.request.Request(f"http://127.0.0.1:{port}/", data=QUERY.encode(),
                                 headers={"Authorization": "Basic " + auth, "Content-Type": "text/xml"})
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            out["status"], out["body"], out["code"] = r.status, r.read().decode(), ""
    except urllib.error.HTTPError as e:
        out["status"], out["body"], out["code"] = e.code, e.read().decode(), e.headers.get("X-QB-Error-Code", "")


def emulate(python, port, *args, password="wc-password-1"):
    cmd = [python, str(EMULATOR), "--url", f"http://localhost:{port}/qbwc", "--user", "wc-emu",
           "--password", password, "--noop-pause", "0.2", *args]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    return p.returncode, p.stdout + p.stderr


def check(name, ok, detail=""):
    print(("ok   " if ok else "FAIL ") + name, flush=True)
    if not ok:
        failures.append(name)
        print(detail[-3000:])


def scenario(python, port, name, emu_args, want_status, want_code="", want_in_body=""):
    out = {}
    t = threading.Thread(target=client, args=(port, out))
    t.start()
    time.sleep(0.3)  # the request waits in its company file's line
    rc, log = emulate(python, port, *emu_args)
    t.join(90)
    warned = "WARN" in log
    check(f"{name}: emulator", rc == 0 and not warned, log)
    good = out.get("status") == want_status and out.get("code", "") == want_code \
        and want_in_body in out.get("body", "")
    check(f"{name}: client got {want_status} {want_code}", good, repr(out) + "\n" + log)


def main():
    binary, python = sys.argv[1], sys.argv[2]
    if not EMULATOR.exists():
        # CI has ../shared: a missing emulator is a failure, not a pass.
        print(f"FAIL: {EMULATOR} not found")
        return 1
    with tempfile.TemporaryDirectory() as d:
        cfg = Path(d) / "qbconnector.toml"
        port = free_port()
        cfg.write_text(f'listen = "127.0.0.1:{port}"\n[backend]\ndata_dir = "{d}/data"\n'
                       '[backend.qbwc]\nkeep_alive_secs = 2\nwait_secs = 60\n')
        run = lambda *a, stdin="": subprocess.run([binary, *a, "--config", str(cfg)], input=stdin,
                                                  capture_output=True, text=True, check=True)
        run("qbwc", "add", "emu", "--user", "wc-emu", "--password-stdin", stdin="wc-password-1\n")
        run("user", "add", "ci", "--company-file", "emu", "--password-stdin", stdin="ci-password-1\n")
        qwc = run("qwc", "emu").stdout
        check("qwc: the file names the user", "<UserName>wc-emu</UserName>" in qwc, qwc)
        server = subprocess.Popen([binary, "serve", "--config", str(cfg)],
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        try:
            for _ in range(100):
                try:
                    socket.create_connection(("127.0.0.1", port), 0.2).close()
                    break
                except OSError:
                    time.sleep(0.1)
            rc, log = emulate(python, port, "--expect", "auth-none")
            check("nothing to do: authenticate says none", rc == 0, log)
            rc, log = emulate(python, port, "--expect", "auth-nvu", password="wrong password")
            check("a wrong password: authenticate says nvu", rc == 0, log)
            scenario(python, port, "normal (zeep)", ["--records", "3"], 200, "", "<CustomerRet>")
            scenario(python, port, "normal (raw QBWC bytes)", ["--transport", "raw", "--records", "3"],
                     200, "", "<CustomerRet>")
            scenario(python, port, "conn-error", ["--scenario", "conn-error", "--expect", "conn-error-done"],
                     502, "0x80040408")
            scenario(python, port, "qb-parse-error", ["--scenario", "qb-parse-error"], 400, "0x80040400")
            scenario(python, port, "hresult-on-response", ["--scenario", "hresult-on-response"],
                     502, "0x80040402")
        finally:
            server.terminate()
            try:
                server.wait(30)
            except subprocess.TimeoutExpired:
                server.kill()
    if failures:
        print(f"{len(failures)} check(s) failed: {failures}")
        return 1
    print("the Web Connector emulator: every scenario passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
