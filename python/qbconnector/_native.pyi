"""The native module (Rust). Use the names re-exported by qbconnector."""

from typing import Any, Optional

BUILD_INFO: str

class ConnectionRequestEvent:
    remote_host: str
    remote_port: int
    allowed: bool
    accept: bool

class ConnectedEvent:
    connection_id: int
    remote_host: str
    remote_port: int
    status_code: int
    description: str

class DisconnectedEvent:
    connection_id: int
    status_code: int
    description: str

class SSLConnectionRequestEvent:
    connection_id: int
    remote_host: str
    remote_port: int
    server_name: str
    supported_cipher_suites: str
    accept: bool

class SSLClientAuthenticationEvent:
    connection_id: int
    cert_subject: str
    cert_encoded: bytes
    accept: bool

class SSLServerAuthenticationEvent:
    cert_encoded: bytes
    cert_subject: str
    cert_issuer: str
    status: str
    accept: bool

class SSLStatusEvent:
    connection_id: int
    message: str

class HeaderEvent:
    connection_id: int
    field: str
    value: str

class AuthorizationEvent:
    connection_id: int
    user_index: int
    user: str
    password: str
    accept: bool
    connection: str

class RequestEvent:
    connection_id: int
    user: str
    company_file: str
    request_types: list[str]
    request: str
    accept: bool
    status: int
    code: str
    message: str

class ResponseEvent:
    connection_id: int
    http_status: int
    response: str
    duration_ms: float

class ErrorEvent:
    connection_id: int
    error_code: str
    description: str

class StatusEvent:
    connection_id: int
    message: str

class AuditEvent:
    remote_host: str
    user: str
    company_file: str
    request_types: list[str]
    http_status: int
    status_codes: list[int]
    error_code: str
    duration_ms: float
    request_replaced: bool
    response_replaced: bool

class Connector: ...
class Client: ...
class QueryIter: ...
class Simulator: ...
