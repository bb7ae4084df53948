"""Errors: what the server refused (HypervisorError) and what the client refused to believe
(VerificationError, a subclass, so one `except HypervisorError` handles "the call did not succeed")."""

from __future__ import annotations

from typing import Any, Optional


class HypervisorError(Exception):
    """An error reply of the service, `{error_code, message, timestamp, request_id?}`, with the
    detail of a sealed error (protocol v1.1 `encrypted_error`) opened into `detail`.

    http_status: the reply's status (0: no reply at all, see TransportError).
    error_code: the protocol's code, `HTTP_ERROR` for a reply without one, or the client's own
    (`BAD_RESPONSE`, `COMMITMENT_MISMATCH`, `COMMITMENT_NOT_VERIFIED`, `NO_ANSWER`).
    """

    def __init__(self, message: str, *, http_status: int = 0, error_code: str = "UNKNOWN",
                 request_id: Optional[str] = None, detail: Optional[str] = None,
                 execution_summary: Any = None, retry_after: Optional[int] = None,
                 body: Any = None):
        super().__init__(message)
        self.message = message
        self.http_status = http_status
        self.error_code = error_code
        self.request_id = request_id
        self.detail = detail
        self.execution_summary = execution_summary
        self.retry_after = retry_after
        self.body = body

    def __str__(self) -> str:
        text = f"{self.error_code}: {self.detail if self.detail is not None else self.message}"
        return text


class VerificationError(HypervisorError):
    """The reply does not check out: a commitment that does not match (`COMMITMENT_MISMATCH`, with
    `commitment` naming which: 'result', 'program' or 'arguments'), a commitment the server's record
    does not hold (`COMMITMENT_NOT_VERIFIED`), or anything else malformed or for another request
    (`BAD_RESPONSE`). Never believe or blindly retry such a reply: something on the path is wrong.
    For a sealed error that does not open, `__cause__` is the server's HypervisorError."""

    def __init__(self, message: str, *, commitment: Optional[str] = None, **kw):
        kw.setdefault("error_code", "BAD_RESPONSE")
        super().__init__(message, **kw)
        self.commitment = commitment

    def __str__(self) -> str:
        return f"{self.error_code}: {self.message}"


class TransportError(HypervisorError):
    """No HTTP reply at all (connection refused, timeout, TLS): error_code `NO_ANSWER`."""

    def __init__(self, message: str):
        super().__init__(message, http_status=0, error_code="NO_ANSWER")


class ArgumentError(ValueError):
    """A value or option that cannot be sent (an untyped value, an i32 out of range, a lone
    surrogate in a string, ...), raised before anything goes on the wire."""
