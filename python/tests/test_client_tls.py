"""QBClient: TLS with a pinned certificate, the `qbconnector serve`
binary (the two implementations of the wire protocol meet), and the
simulator in process."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from qbconnector import QBClient, QBConnector, QBError, Simulator

from conftest import PASSWORD, customer_add, customer_query, host_query, serve_binary


def make_cert(dir: Path, name: str) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1: (certificate, cert+key)."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl not installed: cannot make a certificate")
    cert, key = dir / f"{name}.pem", dir / f"{name}.key"
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
            "-nodes", "-keyout", str(key), "-out", str(cert), "-days", "2", "-subj", "/CN=localhost",
            "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
            "-addext", "basicConstraints=critical,CA:FALSE",
        ],
        check=True,
        capture_output=True,
    )
    both = dir / f"{name}-both.pem"
    both.write_text(cert.read_text() + key.read_text())
    return cert, both


def test_tls_with_a_pinned_certificate(connector: QBConnector, tmp_path: Path) -> None:
    cert, both = make_cert(tmp_path, "server")
    other, _ = make_cert(tmp_path, "other")
    connector.ssl_cert_store_type = "PEMKeyFile"
    connector.ssl_cert_store = str(both)
    connector.enable_ssl = True
    connector.listening = True
    url = f"URL='https://127.0.0.1:{connector.local_port}' User='ann' Password='{PASSWORD}'"
    c = QBClient(f"{url} SSLAcceptServerCertFile='{cert}'")
    assert "<HostRet>" in c.send(host_query())
    # Another pin: refused before any credentials are sent.
    with pytest.raises(QBError) as e:
        QBClient(f"{url} SSLAcceptServerCertFile='{other}'").send(host_query())
    assert e.value.code == "QBC_TRANSPORT"
    # The certificate as PEM text (the seed's ssl_cert_encoded) works too.
    connector.listening = False
    connector.ssl_cert_encoded = both.read_text()
    connector.listening = True
    url = f"URL='https://127.0.0.1:{connector.local_port}' User='ann' Password='{PASSWORD}'"
    assert "<HostRet>" in QBClient(f"{url} SSLAcceptServerCertFile='{cert}'").send(host_query())


def test_on_ssl_server_authentication_decides(connector: QBConnector, tmp_path: Path) -> None:
    cert, both = make_cert(tmp_path, "server")
    connector.ssl_cert_store_type = "PEMKeyFile"
    connector.ssl_cert_store = str(both)
    connector.enable_ssl = True
    connector.listening = True
    url = f"URL='https://127.0.0.1:{connector.local_port}' User='ann' Password='{PASSWORD}'"
    # Not trusted by the system: refused without a handler …
    with pytest.raises(QBError) as e:
        QBClient(url).send(host_query())
    assert e.value.code == "QBC_TRANSPORT"
    # … and accepted by a handler that checks what it is shown.
    seen = []

    def on_ssl_server_authentication(ev) -> None:
        seen.append((ev.accept, ev.status, ev.cert_subject, ev.cert_issuer, ev.cert_encoded))
        ev.accept = b"localhost" in ev.cert_encoded

    c = QBClient(url)
    c.on_ssl_server_authentication = on_ssl_server_authentication
    assert c.on_ssl_server_authentication is on_ssl_server_authentication
    assert "<HostRet>" in c.send(host_query())
    trusted, status, subject, issuer, der = seen[0]
    assert not trusted and status  # what the usual check said
    assert subject == "CN=localhost" and issuer == "CN=localhost" and der[:1] == b"\x30"
    # A pinned certificate arrives trusted; a handler may still refuse it.
    p = QBClient(f"{url} SSLAcceptServerCertFile='{cert}'")
    p.on_ssl_server_authentication = lambda ev: setattr(ev, "accept", False)
    with pytest.raises(QBError):
        p.send(host_query())

    def raising(ev) -> None:
        raise ValueError("handler bug")

    r = QBClient(f"{url} SSLAcceptServerCertFile='{cert}'")
    r.on_ssl_server_authentication = raising
    with pytest.raises(QBError):
        r.send(host_query())


def test_tls_settings_that_cannot_work_are_refused(connector: QBConnector) -> None:
    connector.ssl_cert_store = "/nonexistent.pfx"
    with pytest.raises(QBError, match="tls"):
        connector.enable_ssl = True
    assert connector.enable_ssl is False
    with pytest.raises(QBError, match="system store"):
        connector.ssl_cert_store_type = "User"
        connector.enable_ssl = True


def test_the_client_against_qbconnector_serve(tmp_path: Path) -> None:
    binary = serve_binary()
    if binary is None:
        pytest.skip("no qbconnector binary (cargo build -p qbconnector)")
    cfg = tmp_path / "qbconnector.toml"
    cfg.write_text(
        'listen = "127.0.0.1:0"\n[backend]\ndata_dir = "data"\ncreate_missing = true\n'
    )
    subprocess.run(
        [binary, "user", "add", "ann", "--password-stdin", "--company-file", "acme.qbw",
         "--config", str(cfg)],
        input=PASSWORD + "\n",
        text=True,
        check=True,
        capture_output=True,
    )
    p = subprocess.Popen(
        [binary, "serve", "--config", str(cfg)],
        stderr=subprocess.PIPE,
        text=True,
        env={"RUST_LOG": "info", "NO_COLOR": "1", "PATH": "/usr/bin:/bin"},
    )
    try:
        addr = None
        assert p.stderr is not None
        for line in p.stderr:
            if "serving http://" in line:
                addr = line.split("serving http://")[1].split()[0]
                break
        assert addr, "the server said where it listens"
        c = QBClient(f"URL='http://{addr}' User='ann' Password='{PASSWORD}'")
        c.send(customer_add("FromPython"))
        assert [r["Name"] for r in c.query("Customer")] == ["FromPython"]
        with pytest.raises(QBError) as e:
            QBClient(f"URL='http://{addr}' User='ann' Password='wrong'").send(host_query())
        assert e.value.http_status == 401
    finally:
        p.terminate()
        p.wait(10)


def test_simulator_in_process(tmp_path: Path) -> None:
    s = Simulator(str(tmp_path / "acme.qbw"))
    out = s.process(customer_add("InProcess"))
    assert 'statusCode="0"' in out and "<Name>InProcess</Name>" in out
    assert "<Name>InProcess</Name>" in s.process(customer_query())
    with pytest.raises(QBError) as e:
        s.process("<QBXML><nope/></QBXML>")
    assert e.value.code.startswith("0x8004")
    sample = Simulator.sample(str(tmp_path / "sample.qbw"), customers=20, transactions=False)
    assert sample.process(customer_query()).count("<CustomerRet>") >= 20
    with pytest.raises(QBError):
        (tmp_path / "notes.txt").write_text("not a company file")
        Simulator(str(tmp_path / "notes.txt"))
