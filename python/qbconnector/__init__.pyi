"""Type stubs for qbconnector (the Rust classes and their seed-named forms)."""

from typing import Any, Callable, Dict, Iterator, List, Optional, Union

from ._native import (
    AuditEvent as AuditEvent,
    AuthorizationEvent as AuthorizationEvent,
    ConnectedEvent as ConnectedEvent,
    ConnectionRequestEvent as ConnectionRequestEvent,
    DisconnectedEvent as DisconnectedEvent,
    ErrorEvent as ErrorEvent,
    HeaderEvent as HeaderEvent,
    RequestEvent as RequestEvent,
    ResponseEvent as ResponseEvent,
    SSLClientAuthenticationEvent as SSLClientAuthenticationEvent,
    SSLConnectionRequestEvent as SSLConnectionRequestEvent,
    SSLServerAuthenticationEvent as SSLServerAuthenticationEvent,
    SSLStatusEvent as SSLStatusEvent,
    StatusEvent as StatusEvent,
)

BUILD_INFO: str
EVENTS: tuple[str, ...]
PROPERTIES: tuple[str, ...]
INDEXED: tuple[str, ...]

class QBError(Exception):
    """Every failure: http_status (0: no answer), code (QBC_… or an HRESULT), status_code/status_message (a failed qbXML request)."""
    message: str
    http_status: int
    code: str
    status_code: Optional[int]
    status_message: str
    def __init__(self, message: str, http_status: int = ..., code: str = ..., status_code: Optional[int] = ..., status_message: str = ...) -> None: ...

class QBConnector:
    """The seed's QBConnector class: add users, hook events, set listening = True."""
    def __init__(self, config: Optional[str] = None) -> None: ...
    @classmethod
    def from_config(cls, path: str) -> QBConnector:
        """A connector with the settings and users of a qbconnector.toml."""
    def add_user(self, user: str, password: str, connection: str = ..., read_only: bool = ...) -> int:
        """Add a user (the password is kept as an argon2id hash); returns its index."""
    def remove_user(self, index: int) -> None:
        """Remove user index; its sessions end."""
    def config(self, setting: str) -> str:
        """'Name=Value' sets, 'Name' reads; both return the value now."""
    def do_events(self, timeout: Optional[float] = None) -> None:
        """Nothing to do: events are delivered on the server's threads as they happen."""
    def reset(self) -> None:
        """The defaults, no users, no handlers (not while listening)."""
    def shutdown(self) -> None:
        """Stop listening; in-flight requests finish."""
    def __enter__(self) -> QBConnector: ...
    def __exit__(self, *exc: Any) -> None: ...
    authorized_user_count: int
    """The number of configured users; setting it truncates the list or adds users `user<i>` without a usable password."""
    def get_authorized_user_count(self) -> int: ...
    def set_authorized_user_count(self, value: int) -> None: ...
    connected_to_qb: bool
    """Keep one QuickBooks session open on DefaultConnectionString's company file for every request without a ticket."""
    def get_connected_to_qb(self) -> bool: ...
    def set_connected_to_qb(self, value: bool) -> None: ...
    enable_ssl: bool
    """Serve HTTPS with the ssl_cert_* certificate (applied when set)."""
    def get_enable_ssl(self) -> bool: ...
    def set_enable_ssl(self, value: bool) -> None: ...
    listening: bool
    """True starts serving in the background; False stops (in-flight requests finish); True again restarts with the same users."""
    def get_listening(self) -> bool: ...
    def set_listening(self, value: bool) -> None: ...
    local_host: str
    """The address to listen on."""
    def get_local_host(self) -> str: ...
    def set_local_host(self, value: str) -> None: ...
    local_port: int
    """The port to listen on (0: any free one); while listening, the port in use."""
    def get_local_port(self) -> int: ...
    def set_local_port(self, value: int) -> None: ...
    ssl_authenticate_clients: bool
    """Ask clients for a certificate signed by the CAs of config('SSLClientCAFile=…'); on_ssl_client_authentication decides."""
    def get_ssl_authenticate_clients(self) -> bool: ...
    def set_ssl_authenticate_clients(self, value: bool) -> None: ...
    ssl_cert_encoded: str
    """The certificate chain and its private key as PEM text."""
    def get_ssl_cert_encoded(self) -> str: ...
    def set_ssl_cert_encoded(self, value: str) -> None: ...
    ssl_cert_store: str
    """The certificate file (PFX, or PEM with the key), or PEM text for PEMKeyBlob."""
    def get_ssl_cert_store(self) -> str: ...
    def set_ssl_cert_store(self, value: str) -> None: ...
    ssl_cert_store_password: str
    """The PFX file's password."""
    def get_ssl_cert_store_password(self) -> str: ...
    def set_ssl_cert_store_password(self, value: str) -> None: ...
    ssl_cert_store_type: str
    """PFXFile (default), PEMKeyFile or PEMKeyBlob."""
    def get_ssl_cert_store_type(self) -> str: ...
    def set_ssl_cert_store_type(self, value: str) -> None: ...
    ssl_cert_subject: str
    """The PFX entry to use, by subject or common name ('*': the first)."""
    def get_ssl_cert_subject(self) -> str: ...
    def set_ssl_cert_subject(self, value: str) -> None: ...
    timeout: int
    """Seconds a client has to send its request."""
    def get_timeout(self) -> int: ...
    def set_timeout(self, value: int) -> None: ...
    def get_authorized_user(self, index: int) -> str:
        """User i's name."""
    def set_authorized_user(self, index: int, value: str) -> None: ...
    def get_authorized_user_password(self, index: int) -> str:
        """User i's password (write-only: reads '')."""
    def set_authorized_user_password(self, index: int, value: str) -> None: ...
    def get_authorized_auth_mode(self, index: int) -> int:
        """0 (amNormal) or 1 (amWindows)."""
    def set_authorized_auth_mode(self, index: int, value: int) -> None: ...
    def get_authorized_user_qb_connection_string(self, index: int) -> str:
        """User i's QBConnectionString, kept whole."""
    def set_authorized_user_qb_connection_string(self, index: int, value: str) -> None: ...
    on_authorization: Optional[Callable[[AuthorizationEvent], Any]]
    on_connected: Optional[Callable[[ConnectedEvent], Any]]
    on_connection_request: Optional[Callable[[ConnectionRequestEvent], Any]]
    on_disconnected: Optional[Callable[[DisconnectedEvent], Any]]
    on_error: Optional[Callable[[ErrorEvent], Any]]
    on_header: Optional[Callable[[HeaderEvent], Any]]
    on_request: Optional[Callable[[RequestEvent], Any]]
    on_response: Optional[Callable[[ResponseEvent], Any]]
    on_ssl_client_authentication: Optional[Callable[[SSLClientAuthenticationEvent], Any]]
    on_ssl_connection_request: Optional[Callable[[SSLConnectionRequestEvent], Any]]
    on_ssl_status: Optional[Callable[[SSLStatusEvent], Any]]
    on_status: Optional[Callable[[StatusEvent], Any]]
    on_audit: Optional[Callable[[AuditEvent], Any]]

class _Session:
    ticket: str
    def __enter__(self) -> str: ...
    def __exit__(self, *exc: Any) -> None: ...

class QueryIter(Iterator[Dict[str, Any]]):
    """Records of a query, page after page; dropped before its end, the
    iterator is stopped and the session opened for it closed."""
    remaining: Optional[int]
    def __iter__(self) -> QueryIter: ...
    def __next__(self) -> Dict[str, Any]: ...
    def close(self) -> None:
        """Stop early: QuickBooks frees the iterator."""

class QBClient:
    """A client: QBClient("URL='http://host:2080' User='…' Password='…'")."""
    ticket: Optional[str]
    on_ssl_server_authentication: Optional[Callable[[SSLServerAuthenticationEvent], Any]]
    """The seed's SSLServerAuthentication: e.accept (starting as the usual verdict) decides about the connector's certificate."""
    def __init__(self, connection_string: str) -> None: ...
    def send(self, xml: str) -> str:
        """QuickBooks' answer as text."""
    def send_json(self, doc: Union[Dict[str, Any], str]) -> Dict[str, Any]:
        """A message set in the JSON form (docs/PROTOCOL.md §14); the answer in the JSON form: dicts, lists, bool, int, str, Decimal for amounts, prices, quantities and percentages."""
    def request(self, xml: str, check: bool = True) -> List[Dict[str, Any]]:
        """The responses parsed (type, request_id, status_code, status_severity, status_message, records, iterator_id, iterator_remaining_count)."""
    def query(self, kind: str, max_returned: int = 500, version: str = '13.0', **filters: Any) -> QueryIter:
        """Records of <kind>QueryRq across pages: an iterator, in the client's session if one is open, else on a connection and in a session of its own (threads may page at once)."""
    def open_session(self) -> _Session:
        """A persistent session; a context manager that closes it."""
    def close_session(self) -> None: ...
    def __enter__(self) -> QBClient: ...
    def __exit__(self, *exc: Any) -> None: ...

class Simulator:
    """A simulator company file in process."""
    path: str
    def __init__(self, path: str) -> None: ...
    @staticmethod
    def sample(path: str, customers: int = 150, transactions: bool = True) -> Simulator: ...
    def process(self, request: str) -> str: ...
    def process_json(self, request: Union[Dict[str, Any], str]) -> Dict[str, Any]:
        """The JSON form in, the JSON form out (native values, Decimal for amounts)."""
