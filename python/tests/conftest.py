"""Fixtures: a real QBConnector on 127.0.0.1 (any free port) over the
simulator in a fresh directory, and qbXML helpers."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Iterator

import pytest

from qbconnector import QBClient, QBConnector

PASSWORD = "correct horse"
ROOT = Path(__file__).resolve().parents[2]


def qbxml(inner: str, version: str = "13.0") -> str:
    return (
        f'<?xml version="1.0"?><?qbxml version="{version}"?><QBXML>'
        f'<QBXMLMsgsRq onError="stopOnError">{inner}</QBXMLMsgsRq></QBXML>'
    )


def customer_add(name: str) -> str:
    return qbxml(
        f'<CustomerAddRq requestID="1"><CustomerAdd><Name>{name}</Name></CustomerAdd></CustomerAddRq>'
    )


def customer_query() -> str:
    return qbxml('<CustomerQueryRq requestID="1"><ActiveStatus>All</ActiveStatus></CustomerQueryRq>')


def add_customers(c: QBConnector, names: list[str]) -> None:
    """Add customers of these names, in one message set."""
    adds = "".join(
        f'<CustomerAddRq requestID="{i}"><CustomerAdd><Name>{n}</Name></CustomerAdd></CustomerAddRq>'
        for i, n in enumerate(names)
    )
    client(c).send(qbxml(adds))


def in_threads(n: int, work) -> None:  # type: ignore[no-untyped-def]
    """Run work(t) for t in 0..n on threads; raise the first failure."""
    import threading

    errors: list[BaseException] = []

    def run(t: int) -> None:
        try:
            work(t)
        except BaseException as e:  # noqa: BLE001 - raised below
            errors.append(e)

    threads = [threading.Thread(target=run, args=(t,)) for t in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]


def host_query() -> str:
    return qbxml('<HostQueryRq requestID="1"/>')


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    d = tmp_path / "data"
    d.mkdir()
    return d


@pytest.fixture
def connector(data_dir: Path) -> Iterator[QBConnector]:
    """Users ann (read-write) and rob (read-only), both on acme.qbw; not
    listening yet."""
    c = QBConnector()
    c.config(f"DataDir={data_dir}")
    c.local_host = "127.0.0.1"
    c.local_port = 0
    c.add_user("ann", PASSWORD, "CompanyFile='acme.qbw'")
    c.add_user("rob", PASSWORD, "CompanyFile='acme.qbw'", read_only=True)
    yield c
    c.shutdown()


def client(c: QBConnector, user: str = "ann", password: str = PASSWORD, extra: str = "") -> QBClient:
    return QBClient(
        f"URL='http://127.0.0.1:{c.local_port}' User='{user}' Password='{password}' {extra}"
    )


def serve_binary() -> str | None:
    """The `qbconnector` binary cargo built, if any."""
    for profile in ("debug", "release"):
        p = ROOT / "target" / profile / "qbconnector"
        if p.exists():
            return str(p)
    return shutil.which("qbconnector") or os.environ.get("QBC_BINARY")
