"""Byte helpers: strict base64 (the service's decoder's rules), hex, SHA-256, strict JSON."""

from __future__ import annotations

import base64
import binascii
import json
import re

from cryptography.hazmat.primitives import constant_time, hashes

_STD = re.compile(r"[A-Za-z0-9+/]*")
_URL = re.compile(r"[A-Za-z0-9\-_]*")
_HEX = re.compile(r"[0-9a-fA-F]*")


def to_base64(data: bytes) -> str:
    """Standard base64 with padding, the only form the protocol writes."""
    return base64.b64encode(data).decode("ascii")


def from_base64(text: str) -> bytes:
    """Standard base64 or base64url, padded or not, as the service's decoder reads it: no
    whitespace, no misplaced padding, no mix of the two alphabets, no non-zero trailing bits, so one
    text has one meaning. Raises ValueError."""
    if not isinstance(text, str):
        raise ValueError("base64: expected a string")
    body = text
    pad = 0
    while body.endswith("=") and pad < 2:
        body = body[:-1]
        pad += 1
    if pad and len(text) % 4 != 0:
        raise ValueError("base64: bad padding")
    if len(body) % 4 == 1:
        raise ValueError("base64: bad length")
    if _STD.fullmatch(body):
        std = body
    elif _URL.fullmatch(body):
        std = body.replace("-", "+").replace("_", "/")
    else:
        bad = next((i for i, c in enumerate(body) if not (c.isascii() and (c.isalnum() or c in "+/-_"))), None)
        if bad is None:
            raise ValueError("base64: mixes the standard and URL alphabets")
        raise ValueError(f"base64: bad character at {bad}")
    rest = len(std) % 4
    if rest:
        # The bits below the last whole byte must be zero (2 or 4 of them).
        last = base64.b64decode("AAA" + std[-1])[-1]
        mask = 0x0F if rest == 2 else 0x03
        if last & mask:
            raise ValueError("base64: non-zero trailing bits")
    try:
        return base64.b64decode(std + "=" * ((4 - rest) % 4), validate=True)
    except binascii.Error as e:  # not reached after the checks above; kept as a guard
        raise ValueError(f"base64: {e}") from e


def to_hex(data: bytes) -> str:
    return data.hex()


def from_hex(text: str) -> bytes:
    if not isinstance(text, str) or len(text) % 2 or not _HEX.fullmatch(text):
        raise ValueError("hex: expected an even number of hex digits")
    return bytes.fromhex(text)


def sha256(*parts: bytes) -> bytes:
    h = hashes.Hash(hashes.SHA256())
    for p in parts:
        h.update(p)
    return h.finalize()


def same_text(a: object, b: object) -> bool:
    """Equal-length strings compared without an early exit (commitments are public, but there is no
    reason to hand out a timing signal either)."""
    if not isinstance(a, str) or not isinstance(b, str):
        return False
    return constant_time.bytes_eq(a.encode("utf-8", "surrogatepass"), b.encode("utf-8", "surrogatepass"))


def _no_constant(name: str):
    raise ValueError(f"JSON: {name} is not JSON")


def _no_duplicates(pairs):
    out = {}
    for k, v in pairs:
        if k in out:
            raise ValueError(f"JSON: duplicate member {k!r}")
        out[k] = v
    return out


def parse_json(data: bytes | str):
    """RFC 8259 JSON only: refuses NaN/Infinity literals (Python's json takes them), duplicate
    members (two readers could pick different ones) and bytes that are not UTF-8. Raises ValueError."""
    if isinstance(data, (bytes, bytearray)):
        try:
            data = bytes(data).decode("utf-8")
        except UnicodeDecodeError as e:
            raise ValueError("JSON: not UTF-8") from e
    return json.loads(data, parse_constant=_no_constant, object_pairs_hook=_no_duplicates)


def dumps(value) -> str:
    """Compact JSON with non-ASCII characters as themselves."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
