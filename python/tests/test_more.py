"""One QBClient shared by many threads; the TLS events; python -m
qbconnector demo."""

from __future__ import annotations

import re
import time
import subprocess
import sys
import threading
from pathlib import Path

import pytest

import qbconnector
from qbconnector import QBClient, QBConnector, QBError

from conftest import PASSWORD, add_customers, client, customer_add, customer_query, in_threads, qbxml
from test_client_tls import make_cert


def test_one_client_many_threads(connector: QBConnector) -> None:
    connector.listening = True
    shared = client(connector)

    def work(t: int) -> None:
        for i in range(20):
            shared.request(customer_add(f"T{t}-{i:02}"))

    in_threads(8, work)
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


SEED_PROPERTIES = [
    "authorized_user_count", "connected_to_qb", "enable_ssl", "listening", "local_host",
    "local_port", "ssl_authenticate_clients", "ssl_cert_encoded", "ssl_cert_store",
    "ssl_cert_store_password", "ssl_cert_store_type", "ssl_cert_subject", "timeout",
]
SEED_INDEXED = [
    "authorized_auth_mode", "authorized_user_password", "authorized_user_qb_connection_string",
    "authorized_user",
]
SEED_METHODS = ["add_user", "config", "do_events", "reset", "shutdown"]
SEED_EVENTS = [
    "on_authorization", "on_connected", "on_connection_request", "on_disconnected", "on_error",
    "on_header", "on_request", "on_response", "on_ssl_client_authentication",
    "on_ssl_connection_request", "on_ssl_status", "on_status",
]
SEED_SETTINGS = [
    "AuthFlags", "ConnectedToQB", "DefaultConnectionString", "ReadOnly[0]", "UseInteractiveLogon",
    "BuildInfo", "CodePage", "LicenseInfo", "ProcessIdleEvents", "SelectWaitMillis",
    "UseInternalSecurityAPI",
]


def test_the_seeds_names_as_the_seed_lists_them(data_dir: Path) -> None:
    """The seed's member list (shared/connector/seed-QBConnector-class.txt),
    written out here rather than taken from the package."""
    c = QBConnector()
    c.add_user("ann", PASSWORD)
    for p in SEED_PROPERTIES:
        getattr(c, p)
        getattr(c, "get_" + p)()
        assert callable(getattr(c, "set_" + p)), p
    for p in SEED_INDEXED:
        getattr(c, "get_" + p)(0)
        assert callable(getattr(c, "set_" + p)), p
    for m in SEED_METHODS:
        assert callable(getattr(c, m)), m
    for e in SEED_EVENTS:
        setattr(c, e, lambda ev: None)
        assert callable(getattr(c, e)), e
    for s in SEED_SETTINGS:
        assert isinstance(c.config(s), str), s


def test_a_slow_handler_holds_only_its_own_request(connector: QBConnector) -> None:
    """user rob's request is held in its handler until ann's request,
    sent meanwhile, has been answered: the I/O of other connections goes
    on, and the GIL is released while both clients wait."""
    held, released = threading.Event(), threading.Event()
    outcome: dict[str, object] = {}

    def on_request(e: qbconnector.RequestEvent) -> None:
        if e.user == "rob":
            held.set()
            outcome["released"] = released.wait(30)

    connector.on_request = on_request
    connector.listening = True
    slow = threading.Thread(target=lambda: outcome.setdefault("rob", client(connector, "rob").send(customer_query())))
    slow.start()
    assert held.wait(30)
    outcome["ann"] = client(connector).send(customer_query())  # answered while rob's is held
    released.set()
    slow.join(30)
    assert outcome["released"] is True and "CustomerQueryRs" in str(outcome["rob"])


def test_a_slow_connection_request_holds_only_its_connection(connector: QBConnector) -> None:
    held, released = threading.Event(), threading.Event()
    calls: list[int] = []
    outcome: dict[str, object] = {}

    def on_connection_request(e: qbconnector.ConnectionRequestEvent) -> None:
        calls.append(e.remote_port)
        if len(calls) == 1:
            held.set()
            outcome["released"] = released.wait(30)

    connector.on_connection_request = on_connection_request
    connector.listening = True
    first = threading.Thread(target=lambda: outcome.setdefault("first", client(connector).send(customer_query())))
    first.start()
    assert held.wait(30)
    client(connector).send(customer_query())  # a second connection, served meanwhile
    released.set()
    first.join(30)
    assert outcome["released"] is True and "CustomerQueryRs" in str(outcome["first"])


def test_system_exit_in_a_handler_refuses_the_request_only(
    connector: QBConnector, capfd: pytest.CaptureFixture[str]
) -> None:
    def on_request(e: qbconnector.RequestEvent) -> None:
        if "CustomerAddRq" in e.request_types:
            sys.exit(7)

    connector.on_request = on_request
    connector.listening = True
    with pytest.raises(QBError) as e:
        client(connector).send(customer_add("X"))
    assert (e.value.http_status, e.value.code) == (500, "QBC_EVENT")
    assert "SystemExit" in capfd.readouterr().err
    client(connector).send(customer_query())  # still serving
    connector.listening = False  # and stops


def test_listening_cannot_change_inside_a_handler(connector: QBConnector) -> None:
    seen: list[str] = []

    def on_request(e: qbconnector.RequestEvent) -> None:
        try:
            connector.listening = False
        except QBError as err:
            seen.append(str(err))

    connector.on_request = on_request
    connector.listening = True
    client(connector).send(customer_query())
    assert seen and "inside an event handler" in seen[0]
    assert connector.listening


def test_leaving_a_query_early_closes_its_session(connector: QBConnector) -> None:
    connector.listening = True
    add_customers(connector, [f"E{i:02}" for i in range(12)])
    cl = client(connector)

    def sessions_open() -> int:
        text = metrics(connector)
        return int(re.search(r"^qbconnector_sessions_open (\d+)", text, re.M).group(1))  # type: ignore[union-attr]

    for r in cl.query("Customer", max_returned=5):
        assert sessions_open() == 1
        break
    for _ in range(500):
        if sessions_open() == 0:
            break
        time.sleep(0.01)
    assert sessions_open() == 0
    assert len(list(cl.query("Customer", max_returned=5))) == 12


def metrics(c: QBConnector) -> str:
    import base64
    import urllib.request

    req = urllib.request.Request(
        f"http://127.0.0.1:{c.local_port}/metrics",
        headers={"Authorization": "Basic " + base64.b64encode(f"ann:{PASSWORD}".encode()).decode()},
    )
    with urllib.request.urlopen(req, timeout=30) as r:
        return r.read().decode()


def test_threads_sharing_a_client_page_at_once(connector: QBConnector) -> None:
    connector.listening = True
    add_customers(connector, [f"P{i:02}" for i in range(30)])
    shared = client(connector)
    got: dict[int, list[str]] = {}

    def page(t: int) -> None:
        got[t] = [r["Name"] for r in shared.query("Customer", max_returned=4)]

    in_threads(4, page)
    assert all(v == [f"P{i:02}" for i in range(30)] for v in got.values()) and len(got) == 4


EXITING = r"""
import sys, threading, time
from qbconnector import QBConnector, QBClient
c = QBConnector()
c.config("DataDir=" + sys.argv[1])
c.local_port = 0
c.add_user("ann", "pw", "CompanyFile='a.qbw'")
c.on_connection_request = lambda e: time.sleep(0.002)
c.on_connected = lambda e: time.sleep(0.002)
c.on_status = lambda e: time.sleep(0.002)
c.listening = True
url = f"URL='http://127.0.0.1:{c.local_port}' User='ann' Password='pw'"
xml = '<?xml version="1.0"?><?qbxml version="13.0"?><QBXML><QBXMLMsgsRq onError="stopOnError"><HostQueryRq/></QBXMLMsgsRq></QBXML>'
ts = [threading.Thread(target=lambda: QBClient(url).send(xml), daemon=True) for _ in range(3)]
for t in ts: t.start()
print("exiting", flush=True)
"""


def test_exiting_while_listening_and_handlers_run(tmp_path: Path) -> None:
    script = tmp_path / "exiting.py"
    script.write_text(EXITING)
    for _ in range(6):
        r = subprocess.run(
            [sys.executable, str(script), str(tmp_path)], capture_output=True, text=True, timeout=60
        )
        assert r.returncode == 0, r.stderr
        assert "Fatal Python error" not in r.stderr
