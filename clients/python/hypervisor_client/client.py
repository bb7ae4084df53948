"""HypervisorClient: the HTTP side. Every execute makes a fresh key pair, seals to the server's
current key, and believes nothing of the reply until the three commitments check out."""

from __future__ import annotations

import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Optional, Sequence, Union

from . import hpke
from .encoding import dumps, from_base64, parse_json, to_base64
from .errors import ArgumentError, HypervisorError, TransportError, VerificationError
from .protocol import (COMMITMENT_TYPES, INFO_ERROR, INFO_RESPONSE, MAX_ERROR_DOCUMENT, SUITE, check_result,
                       key_id_of, open_sealed, seal_request_v1, seal_request_v11, wasi_canonical_values)
from .values import VALUE_TYPES, Value, arguments_json, invocation_json, normalize_all, wasi_invocation_json

# The largest reply read: a 16 MiB result is about 22 MiB of JSON, sealed and base64-encoded about
# 30 MiB; a WASI command's two outputs twice that. Anything bigger is not a reply of this protocol.
MAX_REPLY_BYTES = 128 << 20
DEFAULT_TIMEOUT = 330.0  # seconds: the protocol's longest execution (300 s) and some margin


@dataclass
class Reply:
    """One HTTP reply as a transport returns it. `headers` has lower-case names."""

    status: int
    headers: Dict[str, str]
    body: bytes


Transport = Callable[[str, str, Dict[str, str], Optional[bytes], float], Reply]


def urllib_transport(method: str, url: str, headers: Dict[str, str], body: Optional[bytes],
                     timeout: float) -> Reply:
    """The default transport: the standard library's urllib, reading at most MAX_REPLY_BYTES."""
    req = urllib.request.Request(url, data=body, headers=headers, method=method)
    try:
        res = urllib.request.urlopen(req, timeout=timeout)
    except urllib.error.HTTPError as e:  # a reply with an error status is still a reply
        res = e
    except (urllib.error.URLError, OSError) as e:
        reason = getattr(e, "reason", e)
        raise TransportError(f"no answer from {url}: {reason}") from e
    try:
        with res:
            data = res.read(MAX_REPLY_BYTES + 1)
            if len(data) > MAX_REPLY_BYTES:
                raise VerificationError(f"the reply is larger than {MAX_REPLY_BYTES} bytes", http_status=res.status)
            hdrs = {k.lower(): v for k, v in res.headers.items()}
            return Reply(res.status, hdrs, data)
    except (OSError, urllib.error.URLError) as e:
        raise TransportError(f"the reply from {url} was cut: {e}") from e


@dataclass
class ExecuteResult:
    """A checked execution. `results` are typed Values (None for a WASI command, which has
    exit_code, stdout and stderr instead); `result_document` the exact bytes result_commitment
    hashes, `document` the same parsed; `commitments` {'result', 'program', 'arguments'}."""

    request_id: str
    key_id: str
    result_document: bytes
    document: Dict[str, Any]
    commitments: Dict[str, str]
    execution_summary: Any
    results: Optional[List[Value]] = None
    exit_code: Optional[int] = None
    stdout: Optional[bytes] = None
    stderr: Optional[bytes] = None

    @property
    def values(self) -> List[Any]:
        """The results as plain Python values (int, float, str, bytes)."""
        return [r.value for r in self.results or []]


class HypervisorClient:
    """A client of one service. `base_url` may carry a path prefix; `api_key` is sent as
    X-API-Key on the authenticated endpoints (execute, metrics); `transport` replaces urllib (for
    proxies, tests, or to watch the wire); `timeout` is per HTTP request, in seconds."""

    def __init__(self, base_url: str, api_key: Optional[str] = None, *, transport: Optional[Transport] = None,
                 timeout: float = DEFAULT_TIMEOUT):
        if not isinstance(base_url, str) or not base_url:
            raise ArgumentError("base_url is required")
        self.base_url = base_url.rstrip("/")
        self.api_key = api_key
        self.transport = transport or urllib_transport
        self.timeout = timeout

    # -- the plain endpoints ----------------------------------------------------------------

    def health(self) -> Dict[str, Any]:
        """GET /health: the body for 200 and for 503 alike (`status` says "ok" or "unavailable")."""
        status, body, _, _ = self._request("GET", "/health")
        if status == 200 or (status == 503 and isinstance(body, dict) and "status" in body):
            return body
        raise _error_from_reply(status, body)

    def keys(self) -> Dict[str, Any]:
        """GET /v1/keys. Refuses a suite other than the protocol's."""
        status, body, _, _ = self._request("GET", "/v1/keys")
        if status != 200:
            raise _error_from_reply(status, body)
        suite = body.get("suite") if isinstance(body, dict) else None
        if not isinstance(suite, dict) or any(suite.get(k) != v for k, v in SUITE.items()):
            raise VerificationError("the server offers another HPKE suite", http_status=status, body=body)
        if not isinstance(body.get("keys"), list):
            raise VerificationError("/v1/keys has no key list", http_status=status, body=body)
        return body

    def verify(self, request_id: str, commitment_type: Optional[str] = None,
               hash_hex: Optional[str] = None) -> Dict[str, Any]:
        """GET /v1/verify/{id}: with a type and a hash, whether the record holds that commitment
        (`verified`); without, the record with its three commitments. 404 NOT_FOUND raises."""
        if not isinstance(request_id, str) or not request_id:
            raise ArgumentError("request_id is required")
        path = "/v1/verify/" + urllib.parse.quote(request_id, safe="")
        if commitment_type is not None or hash_hex is not None:
            if commitment_type not in COMMITMENT_TYPES:
                raise ArgumentError('commitment_type must be "result", "program" or "arguments"')
            if not isinstance(hash_hex, str):
                raise ArgumentError("hash_hex is required with a commitment_type")
            path += "?" + urllib.parse.urlencode({"commitment_type": commitment_type, "hash_value": hash_hex})
        status, body, _, _ = self._request("GET", path)
        if status != 200 or not isinstance(body, dict):
            raise _error_from_reply(status, body)
        return body

    def verify_all(self, result: ExecuteResult) -> Dict[str, Any]:
        """Asks /v1/verify about each of an execute result's three commitments. Raises
        VerificationError (COMMITMENT_NOT_VERIFIED, `commitment` says which) unless all verify."""
        answers: Dict[str, Any] = {"verified": True}
        for t in COMMITMENT_TYPES:
            answer = self.verify(result.request_id, t, result.commitments[t])
            if answer.get("verified") is not True:
                raise VerificationError(f"the server's record does not hold this {t} commitment",
                                        error_code="COMMITMENT_NOT_VERIFIED", commitment=t, http_status=200,
                                        request_id=result.request_id, body=answer)
            answers[t] = answer
        return answers

    def metrics(self, json: bool = False) -> Union[str, Dict[str, Any]]:
        """GET /metrics (authenticated): the Prometheus text, or its JSON form with json=True."""
        accept = "application/json" if json else "text/plain"
        status, body, text, _ = self._request("GET", "/metrics", auth=True, accept=accept)
        if status != 200:
            raise _error_from_reply(status, body)
        if json:
            if not isinstance(body, dict):
                raise VerificationError("/metrics did not answer a JSON object", http_status=status)
            return body
        return text.decode("utf-8", "replace")

    # -- execute ------------------------------------------------------------------------------

    def execute(self, wasm: Union[bytes, bytearray, memoryview], function_name: str,
                args: Optional[Sequence[Any]] = None, *, protocol: str = "1.1",
                results: Optional[Sequence[str]] = None, timeout_seconds: Optional[int] = None,
                gas_limit: Optional[int] = None, request_metadata: Optional[Dict[str, Any]] = None) -> ExecuteResult:
        """Runs an export of a module on the service and returns its checked results.

        protocol "1.1" (default) seals the function name and arguments too; "1" sends them in
        clear. `results` (v1.1 only) declares the result types, ['string'] or ['bytes'] for a
        Canonical ABI result. Raises ArgumentError before sending anything it cannot send,
        HypervisorError for an error reply (its sealed detail opened into `detail`),
        VerificationError for a reply that does not check out."""
        wasm = _as_bytes(wasm, "wasm")
        if not isinstance(function_name, str) or not function_name:
            raise ArgumentError("function_name is required")
        argv = normalize_all(args)
        if protocol not in ("1.1", "1"):
            raise ArgumentError('protocol must be "1.1" or "1"')
        if results is not None:
            if protocol == "1":
                raise ArgumentError("results can only be declared with protocol 1.1")
            if isinstance(results, str) or not all(t in VALUE_TYPES for t in results):
                raise ArgumentError(f"results must be a list of {', '.join(VALUE_TYPES)}")
            results = list(results)
        extra = _options(timeout_seconds, gas_limit, request_metadata)

        def make_body(server_key, client_public: bytes) -> Dict[str, Any]:
            if protocol == "1.1":
                invocation = invocation_json(function_name, argv, results).encode("utf-8")
                enc_wasm, enc_call = seal_request_v11(server_key, client_public, wasm, invocation)
                return {"encrypted_wasm": to_base64(enc_wasm), "encrypted_invocation": to_base64(enc_call)}
            sealed = seal_request_v1(server_key, client_public, function_name, wasm)
            return {"encrypted_wasm": to_base64(sealed), "function_name": function_name,
                    "arguments": arguments_json(argv)}

        return self._execute(make_body, extra, wasm=wasm, function_name=function_name, committed=argv,
                             declared_results=results, wasi=False)

    def execute_wasi(self, wasm: Union[bytes, bytearray, memoryview], argv: Sequence[str],
                     stdin: Union[bytes, bytearray, memoryview] = b"", *, timeout_seconds: Optional[int] = None,
                     gas_limit: Optional[int] = None,
                     request_metadata: Optional[Dict[str, Any]] = None) -> ExecuteResult:
        """Runs a WASI command (protocol v1.1, on a server with `wasm.wasi: stdio`): `argv` is the
        whole argv, argv[0] (the program's name) included; `stdin` its standard input. The result
        has exit_code, stdout and stderr, checked like any result."""
        wasm = _as_bytes(wasm, "wasm")
        if isinstance(argv, (str, bytes)) or not all(isinstance(a, str) for a in argv):
            raise ArgumentError("argv must be a list of str")
        argv = list(argv)
        for i, a in enumerate(argv):
            if "\x00" in a:
                raise ArgumentError(f"argv[{i}] contains NUL (a C string cannot hold it)")
            try:
                a.encode("utf-8")
            except UnicodeEncodeError as e:
                raise ArgumentError(f"argv[{i}] has a lone surrogate (not UTF-8)") from e
        stdin = _as_bytes(stdin, "stdin")
        extra = _options(timeout_seconds, gas_limit, request_metadata)

        def make_body(server_key, client_public: bytes) -> Dict[str, Any]:
            invocation = wasi_invocation_json(argv, stdin).encode("utf-8")
            enc_wasm, enc_call = seal_request_v11(server_key, client_public, wasm, invocation)
            return {"encrypted_wasm": to_base64(enc_wasm), "encrypted_invocation": to_base64(enc_call)}

        return self._execute(make_body, extra, wasm=wasm, function_name="_start",
                             committed=wasi_canonical_values(argv, stdin), declared_results=None, wasi=True)

    def _execute(self, make_body, extra, *, wasm, function_name, committed, declared_results, wasi) -> ExecuteResult:
        server_key, key_id = self._current_key()
        client_key = hpke.generate_key_pair()
        client_public = hpke.sec1(client_key.public_key())
        body = make_body(server_key, client_public)
        body["key_id"] = key_id
        body["public_key"] = to_base64(client_public)
        body.update(extra)
        status, reply, _, headers = self._request("POST", "/v1/execute", auth=True,
                                                  body=dumps(body).encode("utf-8"))
        if status != 200:
            raise self._execute_error(status, reply, headers, client_key)

        if not isinstance(reply, dict):
            raise VerificationError("the reply is not a JSON object", http_status=status)
        request_id = reply.get("request_id")
        commitments = {t: reply.get(f"{t}_commitment") for t in COMMITMENT_TYPES}
        if (not isinstance(request_id, str) or not isinstance(reply.get("encrypted_result"), str)
                or not all(isinstance(c, str) and len(c) == 64 for c in commitments.values())):
            raise VerificationError("the reply lacks its request_id, encrypted_result or commitments",
                                    http_status=status, request_id=request_id if isinstance(request_id, str) else None,
                                    body=reply)
        if reply.get("key_id") != key_id:
            raise VerificationError(f"the reply names key {reply.get('key_id')!r}, the request was sealed to {key_id}",
                                    http_status=status, request_id=request_id, body=reply)
        try:
            document = open_sealed(client_key, INFO_RESPONSE, request_id, reply["encrypted_result"])
        except (ValueError, hpke.HpkeError) as e:
            raise VerificationError(f"encrypted_result does not open with this request's key: {e}",
                                    http_status=status, request_id=request_id, body=reply) from e
        checked = check_result(document=document, request_id=request_id, function_name=function_name, wasm=wasm,
                               args=committed, commitments=commitments, declared_results=declared_results, wasi=wasi)
        return ExecuteResult(request_id=request_id, key_id=key_id, result_document=document,
                             document=checked.document, commitments=commitments,
                             execution_summary=reply.get("execution_summary"), results=checked.results,
                             exit_code=checked.exit_code, stdout=checked.stdout, stderr=checked.stderr)

    def _current_key(self):
        """The key to seal to: the one /v1/keys marks current, its key_id checked against its hash."""
        listing = self.keys()
        keys = [k for k in listing["keys"] if isinstance(k, dict)]
        k = next((k for k in keys if k.get("current") is True), keys[0] if keys else None)
        if k is None or not isinstance(k.get("public_key"), str):
            raise VerificationError("the server lists no key", http_status=200, body=listing)
        try:
            key = hpke.public_key_from_bytes(from_base64(k["public_key"]))
        except (ValueError, hpke.HpkeError) as e:
            raise VerificationError(f"the server key is not a P-256 point: {e}", http_status=200, body=listing) from e
        key_id = key_id_of(hpke.sec1(key))
        if k.get("key_id") != key_id:
            raise VerificationError(f"the server key's key_id is {k.get('key_id')!r}, its hash says {key_id}",
                                    http_status=200, body=listing)
        return key, key_id

    def _execute_error(self, status: int, body: Any, headers: Dict[str, str], client_key) -> HypervisorError:
        """An error reply of execute, its sealed detail opened (protocol v1.1 "Sealed errors"). A
        detail that does not open, or names another request or code, makes it a VerificationError
        whose __cause__ is the server's error."""
        err = _error_from_reply(status, body, headers)
        if not isinstance(body, dict) or "encrypted_error" not in body:
            return err

        def fail(message: str) -> VerificationError:
            v = VerificationError(f"{message} (the server answered {err.error_code}: {err.message})",
                                  http_status=status, request_id=err.request_id, body=body)
            v.__cause__ = err
            return v

        sealed = body["encrypted_error"]
        if not isinstance(sealed, str):
            return fail("encrypted_error is not a string")
        if not isinstance(body.get("request_id"), str):
            return fail("a sealed error without a request_id")
        if len(sealed) > (MAX_ERROR_DOCUMENT + 200) * 4 // 3:
            return fail("encrypted_error is larger than a sealed error may be")
        try:
            doc = parse_json(open_sealed(client_key, INFO_ERROR, body["request_id"], sealed))
        except (ValueError, hpke.HpkeError):
            return fail("encrypted_error does not open with this request's key")
        if not isinstance(doc, dict) or doc.get("request_id") != body["request_id"]:
            return fail("encrypted_error is for another request")
        if doc.get("error_code") != body.get("error_code"):
            return fail(f"encrypted_error says {doc.get('error_code')!r}")
        if not isinstance(doc.get("message"), str):
            return fail("encrypted_error has no message")
        err.detail = doc["message"]
        return err

    def _request(self, method: str, path: str, *, auth: bool = False, body: Optional[bytes] = None,
                 accept: str = "application/json"):
        headers = {"Accept": accept}
        if body is not None:
            headers["Content-Type"] = "application/json; charset=utf-8"
        if auth and self.api_key is not None:
            headers["X-API-Key"] = self.api_key
        reply = self.transport(method, self.base_url + path, headers, body, self.timeout)
        try:
            parsed = parse_json(reply.body) if reply.body else None
        except ValueError:
            parsed = None
        return reply.status, parsed, reply.body, reply.headers


def _error_from_reply(status: int, body: Any, headers: Optional[Dict[str, str]] = None) -> HypervisorError:
    ok = isinstance(body, dict) and isinstance(body.get("error_code"), str)
    retry = (headers or {}).get("retry-after")
    return HypervisorError(
        body["message"] if ok and isinstance(body.get("message"), str) else f"HTTP {status}",
        http_status=status,
        error_code=body["error_code"] if ok else "HTTP_ERROR",
        request_id=body["request_id"] if ok and isinstance(body.get("request_id"), str) else None,
        execution_summary=body.get("execution_summary") if ok else None,
        retry_after=int(retry) if retry is not None and retry.isdigit() else None,
        body=body)


def _as_bytes(v: Any, name: str) -> bytes:
    if isinstance(v, (bytes, bytearray, memoryview)):
        return bytes(v)
    raise ArgumentError(f"{name} must be bytes")


def _options(timeout_seconds, gas_limit, request_metadata) -> Dict[str, Any]:
    out: Dict[str, Any] = {}
    if request_metadata is not None:
        if not isinstance(request_metadata, dict):
            raise ArgumentError("request_metadata must be a dict")
        out["request_metadata"] = request_metadata
    if timeout_seconds is not None:
        if not isinstance(timeout_seconds, int) or isinstance(timeout_seconds, bool) or not 1 <= timeout_seconds <= 300:
            raise ArgumentError("timeout_seconds must be an integer from 1 to 300")
        out["timeout_seconds"] = timeout_seconds
    if gas_limit is not None:
        if not isinstance(gas_limit, int) or isinstance(gas_limit, bool) or not 1 <= gas_limit <= (1 << 63) - 1:
            raise ArgumentError("gas_limit must be an integer from 1 to 2^63-1")
        out["gas_limit"] = gas_limit
    return out
