"""The cryptographic side of the wire protocol: sealing and opening with the one suite, the three
commitments, and the checks a result document must pass before anything of it is believed."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Sequence

from cryptography.hazmat.primitives.asymmetric import ec

from . import hpke
from .encoding import from_base64, from_hex, parse_json, same_text, sha256, to_hex
from .errors import VerificationError
from .values import Value, canonical_arguments, parse_result_value

SUITE = {"kem_id": hpke.KEM_P256_HKDF_SHA256, "kdf_id": hpke.KDF_HKDF_SHA256, "aead_id": hpke.AEAD_AES_256_GCM}

INFO_REQUEST_V1 = b"wasm-hypervisor/v1 request"
INFO_REQUEST_V11 = b"wasm-hypervisor/v1.1 request"
INFO_RESPONSE = b"wasm-hypervisor/v1 response"
INFO_ERROR = b"wasm-hypervisor/v1.1 error"

PROGRAM_LABEL = b"wasm-hypervisor/v1 program"
ARGUMENTS_LABEL = b"wasm-hypervisor/v1 arguments"

# The largest sealed error detail opened (the C client's HV_CLIENT_MAX_ERROR_DOCUMENT).
MAX_ERROR_DOCUMENT = 1 << 20

_HEX64 = re.compile(r"[0-9a-f]{64}")
COMMITMENT_TYPES = ("result", "program", "arguments")


def key_id_of(sec1_point: bytes) -> str:
    """key_id: the first 8 bytes of SHA-256 over the SEC1 point, in hex."""
    return to_hex(sha256(sec1_point)[:8])


def seal_request_v1(server_key: ec.EllipticCurvePublicKey, client_public: bytes, function_name: str,
                    wasm: bytes) -> bytes:
    """v1: enc || SealBase(info "...v1 request", aad = client key || function name, pt = wasm)."""
    return hpke.seal_base(server_key, INFO_REQUEST_V1, client_public + function_name.encode("utf-8"), wasm)


def seal_request_v11(server_key: ec.EllipticCurvePublicKey, client_public: bytes, wasm: bytes,
                     invocation: bytes):
    """v1.1: one sender context, the module as message 0 and the invocation document as message 1,
    both with aad = the client key. Returns (encrypted_wasm = enc || ct_wasm, encrypted_invocation)."""
    enc, ctx = hpke.setup_sender(server_key, INFO_REQUEST_V11)
    ct_wasm = ctx.seal(client_public, wasm)  # sequence 0
    ct_call = ctx.seal(client_public, invocation)  # sequence 1
    return enc + ct_wasm, ct_call


def open_sealed(client_key: ec.EllipticCurvePrivateKey, info: bytes, request_id: str, sealed_base64: str) -> bytes:
    """Opens base64(enc || ct) sealed to the client key (a result or a sealed error), aad =
    request_id. Raises ValueError (bad base64) or hpke.HpkeError."""
    return hpke.open_base(client_key, info, request_id.encode("utf-8"), from_base64(sealed_base64))


def program_commitment(nonce: bytes, wasm: bytes) -> str:
    return to_hex(sha256(PROGRAM_LABEL, b"\x00", nonce, wasm))


def arguments_commitment(nonce: bytes, canonical: bytes) -> str:
    return to_hex(sha256(ARGUMENTS_LABEL, b"\x00", nonce, canonical))


def result_commitment(document: bytes) -> str:
    return to_hex(sha256(document))


def wasi_canonical_values(argv: Sequence[str], stdin: bytes) -> List[Value]:
    """A WASI command's committed arguments: each argv string, then stdin as one bytes value."""
    return [Value("string", a) for a in argv] + [Value("bytes", bytes(stdin))]


@dataclass
class CheckedResult:
    document: Dict[str, Any]
    computed: Dict[str, str]
    results: Optional[List[Value]] = None
    exit_code: Optional[int] = None
    stdout: Optional[bytes] = None
    stderr: Optional[bytes] = None


def check_result(*, document: bytes, request_id: str, function_name: str, wasm: bytes,
                 args: Sequence[Value], commitments: Dict[str, str],
                 declared_results: Optional[Sequence[str]] = None, wasi: bool = False) -> CheckedResult:
    """Checks a result document against the request and the reply's three commitments and reads
    its values. Raises VerificationError at the first thing that does not check out; nothing of the
    document is returned unless everything does. For a WASI command, `args` are its committed
    values (wasi_canonical_values) and the document must be a command's."""

    def bad(message: str, **kw) -> VerificationError:
        return VerificationError(message, request_id=request_id, http_status=200, **kw)

    # The result commitment covers the bytes as sealed: check it before reading anything.
    computed = {"result": result_commitment(document), "program": "", "arguments": ""}
    if not same_text(computed["result"], commitments.get("result")):
        raise bad("result_commitment does not match the result document",
                  error_code="COMMITMENT_MISMATCH", commitment="result")
    try:
        doc = parse_json(document)
    except ValueError as e:
        raise bad(f"the result document is not UTF-8 JSON: {e}") from e
    if not isinstance(doc, dict):
        raise bad("the result document is not an object")
    if doc.get("request_id") != request_id:
        raise bad("the result document is for another request")
    if doc.get("function_name") != function_name:
        raise bad("the result document names another function")
    program_sha = to_hex(sha256(wasm))
    if not isinstance(doc.get("program_sha256"), str) or not same_text(doc["program_sha256"], program_sha):
        raise bad("the result document is for another program")
    nonce_hex = doc.get("nonce")
    if not isinstance(nonce_hex, str) or not _HEX64.fullmatch(nonce_hex):
        raise bad("the result document has a bad nonce")
    nonce = from_hex(nonce_hex)

    computed["program"] = program_commitment(nonce, wasm)
    if not same_text(computed["program"], commitments.get("program")):
        raise bad("program_commitment does not match the module and the nonce",
                  error_code="COMMITMENT_MISMATCH", commitment="program")
    computed["arguments"] = arguments_commitment(nonce, canonical_arguments(args))
    if not same_text(computed["arguments"], commitments.get("arguments")):
        raise bad("arguments_commitment does not match the arguments and the nonce",
                  error_code="COMMITMENT_MISMATCH", commitment="arguments")

    out = CheckedResult(document=doc, computed=computed)
    has_results, has_exit = "results" in doc, "exit_code" in doc
    if has_results == has_exit:
        raise bad("the result document has " + ("both results and exit_code" if has_results
                                                 else "neither results nor exit_code"))
    try:
        if has_results:
            if wasi:
                raise ValueError("a command's document has exit_code, stdout and stderr, not results")
            if not isinstance(doc["results"], list):
                raise ValueError("results is not a list")
            out.results = [parse_result_value(r, f"results[{i}]") for i, r in enumerate(doc["results"])]
        else:
            if not wasi:
                raise ValueError("a function call's document has results, not exit_code")
            code = doc["exit_code"]
            if not isinstance(code, int) or isinstance(code, bool) or not 0 <= code <= 0xFFFFFFFF:
                raise ValueError("bad exit_code")
            if not isinstance(doc.get("stdout"), str) or not isinstance(doc.get("stderr"), str):
                raise ValueError("stdout or stderr missing")
            out.exit_code = code
            out.stdout = from_base64(doc["stdout"])
            out.stderr = from_base64(doc["stderr"])
    except (ValueError, TypeError) as e:
        raise bad(f"the result document's values do not read: {e}") from e
    if declared_results is not None and out.results is not None:
        got = [r.type for r in out.results]
        if got != list(declared_results):
            raise bad(f"the results are {got}, not the declared {list(declared_results)}")
    return out
