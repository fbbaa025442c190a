"""One QBClient shared by many threads; the TLS events; python -m
qbconnector demo."""

from __future__ import annotations

import re
import subprocess
import sys
import threading
from pathlib import Path

import pytest

import qbconnector
from qbconnector import QBClient, QBConnector, QBError

from conftest import PASSWORD, client, customer_add, customer_query, qbxml
from test_client_tls import make_cert


def test_one_client_many_threads(connector: QBConnector) -> None:
    connector.listening = True
    shared = client(connector)
    errors: list[BaseException] = []

    def work(t: int) -> None:
        try:
            for i in range(20):
                shared.request(customer_add(f"T{t}-{i:02}"))
        except BaseException as e:  # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=work, args=(t,)) for t in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    names = [r["Name"] for r in shared.query("Customer")]
    assert sorted(names) == sorted(f"T{t}-{i:02}" for t in range(8) for i in range(20))


def test_tls_events(connector: QBConnector, tmp_path: Path) -> None:
    cert, both = make_cert(tmp_path, "server")
    connector.ssl_cert_store_type = "PEMKeyFile"
    connector.ssl_cert_store = str(both)
    connector.enable_ssl = True
    hellos: list[qbconnector.SSLConnectionRequestEvent] = []
    statuses: list[qbconnector.SSLStatusEvent] = []

    def on_ssl_connection_request(e: qbconnector.SSLConnectionRequestEvent) -> None:
        hellos.append(e)
        e.accept = len(hellos) == 1  # the second connection is refused

    connector.on_ssl_connection_request = on_ssl_connection_request
    connector.on_ssl_status = statuses.append
    connector.listening = True
    url = f"URL='https://127.0.0.1:{connector.local_port}' User='ann' Password='{PASSWORD}' SSLAcceptServerCertFile='{cert}'"
    QBClient(url).send(customer_query())
    assert hellos[0].server_name in ("", "localhost", "127.0.0.1")
    assert "TLS13" in hellos[0].supported_cipher_suites
    assert statuses and statuses[0].connection_id == hellos[0].connection_id
    with pytest.raises(QBError) as e:
        QBClient(url).send(customer_query())
    assert e.value.code == "QBC_TRANSPORT"


def test_python_m_qbconnector_demo() -> None:
    p = subprocess.Popen(
        [sys.executable, "-m", "qbconnector", "demo", "--port", "0", "--customers", "20"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert p.stdout is not None
        text = ""
        for line in p.stdout:
            text += line
            if line.startswith("password:"):
                break
        url = re.search(r"on (http://\S+)/", text).group(1)  # type: ignore[union-attr]
        password = text.split("password:")[1].strip()
        c = QBClient(f"URL='{url}' User='demo' Password='{password}'")
        out = c.request(qbxml('<CustomerQueryRq requestID="1"><MaxReturned>3</MaxReturned></CustomerQueryRq>'))
        assert len(out[0]["records"]) == 3
    finally:
        p.terminate()
        p.wait(10)
