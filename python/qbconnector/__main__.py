"""``python -m qbconnector demo``: the sample company on 127.0.0.1, with a
user ``demo`` and a random password, as ``qbconnector demo`` does."""

from __future__ import annotations

import argparse
import secrets
import sys
import tempfile
import time
from pathlib import Path

from . import QBConnector, Simulator


def demo(port: int, customers: int) -> int:
    with tempfile.TemporaryDirectory() as tmp:
        print(f"creating a sample company ({customers} customers) …", file=sys.stderr)
        Simulator.sample(str(Path(tmp) / "sample.qbw"), customers=customers)
        c = QBConnector()
        c.config(f"DataDir={tmp}")
        c.config("DefaultCompany=sample.qbw")
        c.local_host = "127.0.0.1"
        c.local_port = port
        password = secrets.token_urlsafe(15)
        c.add_user("demo", password, "CompanyFile='sample.qbw'")
        c.listening = True
        url = f"http://127.0.0.1:{c.local_port}/"
        print(
            f"\nqbconnector demo: the simulator's sample company on {url}\n"
            f"user: demo\npassword: {password}\n\nTry it:\n\n"
            f"  curl -s -u 'demo:{password}' -H 'Content-Type: text/xml' --data-binary "
            "'<?xml version=\"1.0\"?><?qbxml version=\"13.0\"?><QBXML><QBXMLMsgsRq onError=\"stopOnError\">"
            "<CustomerQueryRq requestID=\"1\"><MaxReturned>3</MaxReturned></CustomerQueryRq>"
            f"</QBXMLMsgsRq></QBXML>' {url}\n\nCtrl-C stops it (the sample company is deleted).\n",
            flush=True,
        )
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass
        finally:
            c.shutdown()
    return 0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m qbconnector")
    sub = p.add_subparsers(dest="command", required=True)
    d = sub.add_parser("demo", help="serve the simulator's sample company")
    d.add_argument("--port", type=int, default=2080)
    d.add_argument("--customers", type=int, default=150)
    a = p.parse_args(argv)
    if a.command == "demo":
        return demo(a.port, a.customers)
    return 2


if __name__ == "__main__":
    sys.exit(main())
