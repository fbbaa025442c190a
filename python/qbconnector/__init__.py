"""An open QBConnector for Python.

``QBConnector`` serves QuickBooks Desktop (through COM on Windows) or the
embedded QuickBooks Desktop simulator over HTTP(S) to qbXML clients, as
/n software's QBConnector class does: add users, hook its events, set
``listening = True``. ``QBClient`` talks to any connector (this one, or
``qbconnector serve``); ``Simulator`` answers qbXML in process, without
HTTP. Everything runs in Rust (the ``_native`` module); this file only
gives the seed's names their Python forms. See docs/PYTHON.md.
"""

from __future__ import annotations

import atexit
import datetime
import decimal
import json
from typing import Any, Callable, Optional

from . import _native
from ._native import (  # noqa: F401  (re-exported)
    AuditEvent,
    AuthorizationEvent,
    ConnectedEvent,
    ConnectionRequestEvent,
    DisconnectedEvent,
    ErrorEvent,
    HeaderEvent,
    QueryIter,
    RequestEvent,
    ResponseEvent,
    SSLClientAuthenticationEvent,
    SSLConnectionRequestEvent,
    SSLServerAuthenticationEvent,
    SSLStatusEvent,
    StatusEvent,
)

__all__ = [
    "QBConnector",
    "QBClient",
    "QBError",
    "Simulator",
    "BUILD_INFO",
]

BUILD_INFO: str = _native.BUILD_INFO

# At exit, before the interpreter goes: no handler is called any more, and
# connectors still listening stop (their in-flight requests finish), so
# that no server thread calls into Python while it shuts down.
atexit.register(_native._closing)


class QBError(Exception):
    """Every failure of the connector, the client and the simulator.

    ``http_status``: the HTTP status the connector answered (0 when there
    was no answer: a transport or configuration error). ``code``: the
    ``X-QB-Error-Code`` (``QBC_…``) or the HRESULT (``0x80040400``).
    ``status_code`` / ``status_message``: for a qbXML request that failed
    (severity Error), QuickBooks' status; else ``None`` / ``""``.
    """

    def __init__(
        self,
        message: str,
        http_status: int = 0,
        code: str = "",
        status_code: Optional[int] = None,
        status_message: str = "",
    ) -> None:
        super().__init__(message)
        self.message = message
        self.http_status = http_status
        self.code = code
        self.status_code = status_code
        self.status_message = status_message

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:
        return (
            f"QBError({self.message!r}, http_status={self.http_status}, code={self.code!r}, "
            f"status_code={self.status_code!r})"
        )


#: The seed's events (and ``audit``, ours); each is the attribute
#: ``on_<name>``. The list is the native module's, where they are fired.
EVENTS: tuple = tuple(_native.EVENTS)

#: The seed's properties (each also as ``get_x()`` / ``set_x(value)``).
PROPERTIES = (
    "authorized_user_count",
    "connected_to_qb",
    "enable_ssl",
    "listening",
    "local_host",
    "local_port",
    "ssl_authenticate_clients",
    "ssl_cert_encoded",
    "ssl_cert_store",
    "ssl_cert_store_password",
    "ssl_cert_store_type",
    "ssl_cert_subject",
    "timeout",
)

#: The seed's indexed properties: ``get_x(index)`` / ``set_x(index, value)``.
INDEXED = (
    "authorized_user",
    "authorized_user_password",
    "authorized_auth_mode",
    "authorized_user_qb_connection_string",
)


class QBConnector(_native.Connector):
    """The seed's QBConnector class.

    >>> c = QBConnector()
    >>> c.local_port = 0                   # any free port
    >>> c.add_user("ann", "s3cret", "CompanyFile='acme.qbw'")
    0
    >>> c.on_request = lambda e: None      # see the RequestEvent fields
    >>> c.listening = True                 # serves in the background
    >>> c.listening = False

    Users and settings may change at any time, listening or not; a change
    applies to requests that start after it. Event handlers run on the
    server's threads while their request waits. A decision handler
    (authorization, request, response, …) that raises refuses its request
    (500 ``QBC_EVENT``) or connection and fires ``on_error``; any handler's
    exception is printed to stderr. ``listening`` cannot be changed from
    inside a handler.
    """

    @classmethod
    def from_config(cls, path: str) -> "QBConnector":
        """A connector with the settings and users of a ``qbconnector.toml``
        (as ``qbconnector user add`` writes it)."""
        return cls(config=path)

    def __enter__(self) -> "QBConnector":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.shutdown()


def _dumps(doc: Any) -> str:
    """A document of the JSON form as JSON text (``send_json`` and
    ``process_json`` call it): ``Decimal`` as its exact text, dates and
    times as ISO strings."""

    def default(o: Any) -> Any:
        if isinstance(o, decimal.Decimal):
            return format(o, "f")
        if isinstance(o, (datetime.datetime, datetime.time)):
            # qbXML's times have whole seconds.
            return o.isoformat(timespec="seconds")
        if isinstance(o, datetime.date):
            return o.isoformat()
        raise TypeError(
            f"{type(o).__name__} cannot be sent: use dict, list, str, int, bool, Decimal or a date"
        )

    return json.dumps(doc, default=default)


def _event_property(name: str) -> property:
    def get(self: QBConnector) -> Optional[Callable[[Any], Any]]:
        return self._get_handler(name)

    def set_(self: QBConnector, handler: Optional[Callable[[Any], Any]]) -> None:
        self._set_handler(name, handler)

    return property(get, set_, doc=f"The seed's {name} event: a callable taking the event, or None.")


for _name in EVENTS:
    setattr(QBConnector, "on_" + _name, _event_property(_name))


def _pair(name: str) -> None:
    def get(self: QBConnector) -> Any:
        return getattr(self, name)

    def set_(self: QBConnector, value: Any) -> None:
        setattr(self, name, value)

    get.__doc__ = f"The seed's {name} property."
    set_.__doc__ = f"Set the seed's {name} property."
    setattr(QBConnector, "get_" + name, get)
    setattr(QBConnector, "set_" + name, set_)


for _name in PROPERTIES:
    _pair(_name)


def _indexed(name: str) -> None:
    native_get = getattr(_native.Connector, "_get_" + name)
    native_set = getattr(_native.Connector, "_set_" + name)

    def get(self: QBConnector, index: int) -> Any:
        return native_get(self, index)

    def set_(self: QBConnector, index: int, value: Any) -> None:
        native_set(self, index, value)

    get.__doc__ = f"The seed's {name}[index]."
    set_.__doc__ = f"Set the seed's {name}[index]."
    setattr(QBConnector, "get_" + name, get)
    setattr(QBConnector, "set_" + name, set_)


for _name in INDEXED:
    _indexed(_name)


class _Session:
    """``with client.open_session() as ticket:`` — closed on the way out."""

    def __init__(self, client: "QBClient", ticket: str) -> None:
        self.client = client
        self.ticket = ticket

    def __enter__(self) -> str:
        return self.ticket

    def __exit__(self, *exc: Any) -> None:
        self.client.close_session()

    def __str__(self) -> str:
        return self.ticket


class QBClient(_native.Client):
    """A client of a QBConnector: ``QBClient("URL='http://host:2080'
    User='ann' Password='…'")``.

    ``send(xml)`` returns QuickBooks' answer as text; ``request(xml)`` the
    responses parsed; ``send_json(doc)`` takes and gives the JSON form
    (dicts, lists, bool, int, str, ``Decimal`` for amounts);
    ``query("Customer", ActiveStatus="All")`` iterates records across
    pages. Failures raise ``QBError``.
    """

    def open_session(self) -> _Session:
        """Open a persistent session (iterators live in it); as a context
        manager it is closed at the end of the ``with`` block."""
        return _Session(self, self._open_session())

    def __enter__(self) -> "QBClient":
        return self

    def __exit__(self, *exc: Any) -> None:
        if self.ticket is not None:
            self.close_session()


class Simulator(_native.Simulator):
    """A simulator company file in process: ``Simulator("acme.qbw")``
    opens (or creates) it; ``process(xml)`` answers as QuickBooks would
    (``process_json(doc)``: in the JSON form, as native values);
    ``Simulator.sample(path, customers=150)`` creates the sample company."""
