"""The QBConnector class: users, events that steer, settings changed while
listening, listening off and on — a real server on 127.0.0.1."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

import qbconnector
from qbconnector import QBConnector, QBError

from conftest import PASSWORD, add_customers, client, customer_add, customer_query, host_query, qbxml


def names_in(c: QBConnector) -> list[str]:
    return [r["Name"] for r in client(c).request(customer_query())[0]["records"]]


def test_every_seed_member_exists() -> None:
    c = QBConnector()
    for p in qbconnector.PROPERTIES:
        assert hasattr(QBConnector, p), p
        assert callable(getattr(c, "get_" + p)) and callable(getattr(c, "set_" + p)), p
    for p in qbconnector.INDEXED:
        assert callable(getattr(c, "get_" + p)) and callable(getattr(c, "set_" + p)), p
    for e in qbconnector.EVENTS:
        assert getattr(c, "on_" + e) is None, e
    for m in ("add_user", "config", "do_events", "reset", "shutdown"):
        assert callable(getattr(c, m)), m
    # Seed settings that change nothing here are accepted and read back.
    assert c.config("SelectWaitMillis=100") == "100"
    assert c.config("SelectWaitMillis") == "100"
    assert c.config("ProcessIdleEvents") == "false"
    assert c.config("UseInternalSecurityAPI=true") == "true"
    assert "open source" in c.config("LicenseInfo")
    assert c.config("CodePage") == "65001"
    assert c.config("BuildInfo").startswith("qbconnector ")
    assert c.do_events() is None


def test_serves_and_stops(connector: QBConnector) -> None:
    connector.listening = True
    assert connector.listening and connector.get_listening()
    assert connector.local_port > 0
    r = client(connector).request(customer_add("Zed"))
    assert r[0]["status_code"] == 0
    assert r[0]["records"][0]["Name"] == "Zed"
    connector.listening = False
    assert not connector.listening
    with pytest.raises(QBError) as e:
        client(connector).send(host_query())
    assert e.value.http_status == 0 and e.value.code == "QBC_TRANSPORT"


def test_listening_off_on_off_keeps_users(connector: QBConnector) -> None:
    connector.listening = True
    port = connector.local_port
    client(connector).send(customer_add("A"))
    connector.add_user("new", "pw-new-1", "CompanyFile='acme.qbw'")
    connector.listening = False
    connector.local_port = port
    connector.listening = True
    assert connector.local_port == port
    assert "A" in names_in(connector)
    client(connector, "new", "pw-new-1").send(host_query())
    connector.listening = False
    assert connector.authorized_user_count == 3


def test_users_change_while_listening(connector: QBConnector, data_dir: Path) -> None:
    connector.listening = True
    i = connector.add_user("zed", "pw-1", "CompanyFile='zed.qbw' AppID='a7' Color='blue'")
    assert connector.get_authorized_user(i) == "zed"
    assert connector.get_authorized_user_qb_connection_string(i) == (
        "CompanyFile='zed.qbw' AppID='a7' Color='blue'"
    )
    client(connector, "zed", "pw-1").send(customer_add("Z"))
    assert (data_dir / "zed.qbw").exists()
    connector.set_authorized_user_password(i, "pw-2")
    with pytest.raises(QBError) as e:
        client(connector, "zed", "pw-1").send(host_query())
    assert e.value.http_status == 401 and e.value.code == "QBC_AUTH"
    client(connector, "zed", "pw-2").send(host_query())
    connector.config(f"ReadOnly[{i}]=true")
    with pytest.raises(QBError) as e:
        client(connector, "zed", "pw-2").send(customer_add("Z2"))
    assert (e.value.http_status, e.value.code) == (403, "QBC_READ_ONLY")
    assert connector.get_authorized_user_password(i) == ""  # hashes only
    assert connector.get_authorized_auth_mode(i) == 0
    connector.remove_user(i)
    with pytest.raises(QBError) as e:
        client(connector, "zed", "pw-2").send(host_query())
    assert e.value.http_status == 401
    # authorized_user_count truncates and grows.
    connector.authorized_user_count = 1
    assert connector.get_authorized_user(0) == "ann"
    connector.authorized_user_count = 2
    assert connector.get_authorized_user(1) == "user1"
    connector.set_authorized_user(1, "kim")
    connector.set_authorized_user_password(1, "pw-kim-1")
    client(connector, "kim", "pw-kim-1").send(host_query())
    with pytest.raises(IndexError):
        connector.get_authorized_user(5)


def test_read_only_user_refused_a_write_file_unchanged(connector: QBConnector, data_dir: Path) -> None:
    connector.listening = True
    client(connector).send(customer_add("First"))
    before = (data_dir / "acme.qbw").read_bytes()
    with pytest.raises(QBError) as e:
        client(connector, "rob").send(customer_add("Second"))
    assert (e.value.http_status, e.value.code) == (403, "QBC_READ_ONLY")
    assert "read-only" in str(e.value)
    assert names_in(connector) == ["First"]
    assert (data_dir / "acme.qbw").read_bytes() == before


def test_events_fire_in_order_with_the_seeds_parameters(connector: QBConnector) -> None:
    seen: list[tuple[str, object]] = []
    lock = threading.Lock()

    def record(name: str):
        def h(e: object) -> None:
            with lock:
                seen.append((name, e))

        return h

    for name in qbconnector.EVENTS:
        setattr(connector, "on_" + name, record(name))
    connector.listening = True
    cl = client(connector)
    cl.send(host_query())
    del cl  # closes the connection: disconnected
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and not any(n == "disconnected" for n, _ in seen):
        time.sleep(0.02)
    names = [n for n, _ in seen if n != "status"]
    order = [
        "connection_request",
        "connected",
        "header",
        "authorization",
        "request",
        "response",
        "audit",
        "disconnected",
    ]
    positions = [names.index(n) for n in order]
    assert positions == sorted(positions), names
    ev = dict(seen)
    a = ev["authorization"]
    assert (a.user, a.password, a.user_index, a.accept) == ("ann", PASSWORD, 0, True)
    assert a.connection_id > 0 and "acme.qbw" in a.connection
    r = ev["request"]
    assert (r.user, r.company_file, r.request_types) == ("ann", "acme.qbw", ["HostQueryRq"])
    assert "<HostQueryRq" in r.request
    assert ev["response"].http_status == 200 and "<HostRet>" in ev["response"].response
    assert ev["connection_request"].remote_host == "127.0.0.1" and ev["connection_request"].allowed
    h = [e for n, e in seen if n == "header"]
    assert any(x.field == "authorization" and x.value == "<not shown>" for x in h)
    au = ev["audit"]
    assert (au.user, au.http_status, au.request_types, au.status_codes) == (
        "ann",
        200,
        ["HostQueryRq"],
        [0],
    )
    assert any(n == "status" and "listening on" in e.message for n, e in seen)
    # A kept event object stays readable after its request is long gone.
    assert r.user == "ann" and repr(r) == "<RequestEvent>"


def test_authorization_both_ways_and_another_company_file(connector: QBConnector, data_dir: Path) -> None:
    def on_authorization(e: qbconnector.AuthorizationEvent) -> None:
        if e.user == "ann":
            e.accept = False
        elif e.user == "guest":  # not configured: the handler lets it in
            e.accept = True
            e.connection = "CompanyFile='guest.qbw'"

    connector.on_authorization = on_authorization
    connector.config("DefaultConnectionString=CompanyFile='acme.qbw'")
    connector.listening = True
    with pytest.raises(QBError) as e:
        client(connector).send(host_query())
    assert e.value.http_status == 401
    client(connector, "guest", "anything").send(customer_add("G"))
    assert (data_dir / "guest.qbw").exists()


def test_request_refused_and_rewritten(connector: QBConnector) -> None:
    def on_request(e: qbconnector.RequestEvent) -> None:
        if "CustomerAddRq" in e.request_types and "Refuse" in e.request:
            e.accept = False
            e.status, e.code, e.message = 409, "APP_NO_ADDS", "no adds today"
        elif "CustomerAddRq" in e.request_types:
            e.request = e.request.replace("<Name>Orig</Name>", "<Name>Rewritten</Name>")

    connector.on_request = on_request
    connector.listening = True
    with pytest.raises(QBError) as e:
        client(connector).send(customer_add("Refuse"))
    assert (e.value.http_status, e.value.code) == (409, "APP_NO_ADDS")
    assert "no adds today" in str(e.value)
    client(connector).send(customer_add("Orig"))
    assert names_in(connector) == ["Rewritten"]

    # A read-only user's query rewritten into a write is refused: the
    # read-only rule applies to the rewrite.
    def to_write(e: qbconnector.RequestEvent) -> None:
        if e.user == "rob":
            e.request = customer_add("Sneaky")

    connector.on_request = to_write
    with pytest.raises(QBError) as e:
        client(connector, "rob").send(customer_query())
    assert e.value.code == "QBC_READ_ONLY"
    assert "Sneaky" not in names_in(connector)


def test_response_rewritten(connector: QBConnector) -> None:
    def on_response(e: qbconnector.ResponseEvent) -> None:
        if e.http_status == 200:
            e.response = e.response.replace("QuickBooks", "QB")

    connector.on_response = on_response
    connector.listening = True
    text = client(connector).send(host_query())
    assert "QuickBooks" not in text and "<ProductName>QB" in text


def test_a_raising_handler_refuses_its_request_and_the_server_goes_on(
    connector: QBConnector, capfd: pytest.CaptureFixture[str]
) -> None:
    errors: list[qbconnector.ErrorEvent] = []

    def on_request(e: qbconnector.RequestEvent) -> None:
        if "CustomerAddRq" in e.request_types:
            raise RuntimeError("handler bug")

    connector.on_request = on_request
    connector.on_error = errors.append
    connector.listening = True
    with pytest.raises(QBError) as e:
        client(connector).send(customer_add("X"))
    assert (e.value.http_status, e.value.code) == (500, "QBC_EVENT")
    assert "request" in str(e.value)
    assert any(x.error_code == "QBC_EVENT" for x in errors)
    assert "handler bug" in capfd.readouterr().err  # the traceback
    # Still serving, and nothing was written.
    assert names_in(connector) == []
    with pytest.raises(TypeError):
        connector.on_request = 42  # type: ignore[assignment]


def test_qberror_fields(connector: QBConnector) -> None:
    connector.listening = True
    with pytest.raises(QBError) as e:
        client(connector, "ann", "wrong").send(host_query())
    assert (e.value.http_status, e.value.code, e.value.status_code) == (401, "QBC_AUTH", None)
    with pytest.raises(QBError) as e:
        client(connector).send("<QBXML><nonsense/></QBXML>")
    assert e.value.http_status == 400 and e.value.code.startswith("0x8004")
    client(connector).send(customer_add("Dup"))
    with pytest.raises(QBError) as e:
        client(connector).request(customer_add("Dup"))
    assert (e.value.http_status, e.value.status_code) == (200, 3100)
    assert "Dup" in e.value.status_message
    # Without check, the failed status is in the answer.
    r = client(connector).request(customer_add("Dup"), check=False)
    assert r[0]["status_code"] == 3100 and r[0]["status_severity"] == "Error"
    # 503: more sessions than a user may hold (64).
    held = []
    with pytest.raises(QBError) as e:
        for _ in range(65):
            cl = client(connector)
            cl.open_session()
            held.append(cl)
    assert (e.value.http_status, e.value.code) == (503, "QBC_SESSIONS_FULL")
    for cl in held:
        cl.close_session()


def test_config_reads_back(connector: QBConnector) -> None:
    for setting, value in [
        ("DefaultConnectionString", "CompanyFile='d.qbw' AppID='x'"),
        ("ConnectedToQB", "true"),
        ("ReadOnly[0]", "true"),
        ("Timeout", "7"),
        ("AllowedClients", "127.0.0.1"),
    ]:
        assert connector.config(f"{setting}={value}") == value
        assert connector.config(setting) == value
    assert connector.connected_to_qb is True
    assert connector.timeout == 7
    connector.listening = True
    with pytest.raises(QBError, match="cannot change while listening"):
        connector.config("LocalPort=1")


def test_iterators_through_query(connector: QBConnector) -> None:
    connector.listening = True
    add_customers(connector, [f"C{i:03}" for i in range(25)])
    cl = client(connector)
    got = [r["Name"] for r in cl.query("Customer", max_returned=10, ActiveStatus="All")]
    assert got == [f"C{i:03}" for i in range(25)]
    assert cl.ticket is None  # the session opened for it is closed
    some = list(cl.query("Customer", NameFilter={"MatchCriterion": "StartsWith", "Name": "C01"}))
    assert [r["Name"] for r in some] == [f"C{i:03}" for i in range(10, 20)]
    with cl.open_session() as ticket:
        assert cl.ticket == ticket
    assert cl.ticket is None


def test_from_config(tmp_path: Path, data_dir: Path) -> None:
    cfg = tmp_path / "qbconnector.toml"
    cfg.write_text(
        'listen = "127.0.0.1:0"\n[backend]\n'
        f'data_dir = "{data_dir}"\ncreate_missing = true\n'
    )
    c = QBConnector.from_config(str(cfg))
    c.add_user("ann", PASSWORD, "CompanyFile='acme.qbw'")
    with c:
        c.listening = True
        assert client(c).request(host_query())[0]["status_code"] == 0
    assert not c.listening


def test_reset(connector: QBConnector) -> None:
    connector.listening = True
    with pytest.raises(QBError, match="listening"):
        connector.reset()
    connector.listening = False
    connector.on_status = lambda e: None
    connector.reset()
    assert connector.authorized_user_count == 0
    assert connector.on_status is None
