"""Typed values: the helpers arguments are built with, their JSON wire form, their canonical bytes
(for arguments_commitment) and the reading of result values from the result document.

The rules: /work/shared/protocol.md "Result document" and "Strings and bytes"; the project's
docs/crypto.md "Canonical argument bytes"; docs/service.md "POST /v1/execute".
"""

from __future__ import annotations

import math
import re
import struct
from dataclasses import dataclass
from typing import Any, Iterable, List, Optional, Sequence, Union

from .encoding import dumps, from_base64, to_base64
from .errors import ArgumentError

VALUE_TYPES = ("i32", "i64", "f32", "f64", "string", "bytes")

_TWO_53 = 1 << 53
_I32_MIN, _U32_MAX, _I32_MAX = -(1 << 31), (1 << 32) - 1, (1 << 31) - 1
_I64_MIN, _U64_MAX, _I64_MAX = -(1 << 63), (1 << 64) - 1, (1 << 63) - 1
_DECIMAL = re.compile(r"-?(0|[1-9][0-9]*)")

_CODES = {"i32": 0x7F, "i64": 0x7E, "f32": 0x7D, "f64": 0x7C, "string": 0x73, "bytes": 0x62}
# What the server commits for an argument sent as "nan": the positive quiet NaN; "-nan" is the
# same with the sign bit set (docs/crypto.md).
_F32_NAN_BITS = 0x7FC00000
_F64_NAN_BITS = 0x7FF8000000000000


def _nan_bits(x: float, quiet: int, sign_bit: int) -> int:
    """A NaN goes on the wire as "nan" or "-nan" (its payload cannot travel), so the commitment
    covers the quiet NaN the server makes of it, with the sign."""
    return quiet | (1 << sign_bit) if math.copysign(1.0, x) < 0 else quiet


def _float_bits(x: float, fmt: str) -> bytes:
    return struct.pack(fmt, x)


@dataclass(frozen=True, eq=False)
class Value:
    """One typed value: `type` is one of VALUE_TYPES; `value` an int (i32, i64), a float (f32,
    f64; an f32 already rounded to binary32), a str (string) or bytes (bytes).

    Two Values are equal when they are the same value bit for bit, as JavaScript's SameValue:
    NaN equals NaN, -0.0 does not equal 0.0."""

    type: str
    value: Any

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Value) or other.type != self.type:
            return NotImplemented if not isinstance(other, Value) else False
        if self.type in ("f32", "f64"):
            a, b = self.value, other.value
            if math.isnan(a) or math.isnan(b):
                return math.isnan(a) and math.isnan(b)
            return struct.pack("<d", a) == struct.pack("<d", b)
        return self.value == other.value

    def __hash__(self) -> int:
        return hash((self.type, repr(self.value)))

    def __repr__(self) -> str:
        return f"{self.type}({self.value!r})"


def round_f32(x: float) -> float:
    """Rounds a double to the nearest binary32 (ties to even), overflowing to an infinity as a
    float cast does in C (struct's 'f' refuses instead)."""
    try:
        return struct.unpack("<f", struct.pack("<f", x))[0]
    except OverflowError:
        return math.copysign(math.inf, x)


def i32(n: int) -> Value:
    """An i32: -2^31 .. 2^32-1; the upper half is taken as the bit pattern, as the server does
    (i32(4294967295) is i32(-1))."""
    return normalize(Value("i32", n))


def i64(n: int) -> Value:
    """An i64: -2^63 .. 2^64-1; the upper half is taken as the bit pattern."""
    return normalize(Value("i64", n))


def f32(x: float) -> Value:
    """An f32: the float given is rounded to binary32 (round to nearest, as the server does)."""
    return normalize(Value("f32", x))


def f64(x: float) -> Value:
    return normalize(Value("f64", x))


def string(s: str) -> Value:
    """A string (protocol v1.1): sent and committed as its UTF-8 bytes."""
    return normalize(Value("string", s))


def binary(b: Union[bytes, bytearray, memoryview]) -> Value:
    """Bytes (protocol v1.1): base64 on the wire. (Named `binary` so as not to hide `bytes`.)"""
    return normalize(Value("bytes", b))


def _is_int(v: object) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def normalize(arg: Any, where: str = "value") -> Value:
    """Checks a typed value and brings it to its one form. A plain str is a string and plain
    bytes/bytearray/memoryview are bytes; numbers must be typed (an int could be i32 or i64).
    Raises ArgumentError."""
    if isinstance(arg, str):
        arg = Value("string", arg)
    elif isinstance(arg, (bytes, bytearray, memoryview)):
        arg = Value("bytes", arg)
    if not isinstance(arg, Value):
        raise ArgumentError(f"{where}: expected a typed value; use i32(), i64(), f32(), f64(), string() or binary()")
    t, v = arg.type, arg.value
    if t == "i32":
        if not _is_int(v) or not _I32_MIN <= v <= _U32_MAX:
            raise ArgumentError(f"{where}: i32 must be an integer from -2^31 to 2^32-1")
        return Value(t, int(v) - (1 << 32) if v > _I32_MAX else int(v))
    if t == "i64":
        if not _is_int(v) or not _I64_MIN <= v <= _U64_MAX:
            raise ArgumentError(f"{where}: i64 must be an integer from -2^63 to 2^64-1")
        return Value(t, int(v) - (1 << 64) if v > _I64_MAX else int(v))
    if t in ("f32", "f64"):
        if not isinstance(v, (int, float)) or isinstance(v, bool):
            raise ArgumentError(f"{where}: {t} must be a number")
        try:
            x = float(v)
        except OverflowError as e:
            raise ArgumentError(f"{where}: {t} out of range") from e
        return Value(t, round_f32(x) if t == "f32" else x)
    if t == "string":
        if not isinstance(v, str):
            raise ArgumentError(f"{where}: string must be a str")
        try:
            v.encode("utf-8")
        except UnicodeEncodeError as e:
            raise ArgumentError(f"{where}: string has a lone surrogate (not UTF-8)") from e
        return Value(t, v)
    if t == "bytes":
        if not isinstance(v, (bytes, bytearray, memoryview)):
            raise ArgumentError(f"{where}: bytes must be bytes")
        return Value(t, bytes(v))
    raise ArgumentError(f"{where}: unknown type {t!r}")


def normalize_all(args: Optional[Iterable[Any]]) -> List[Value]:
    if args is None:
        return []
    if isinstance(args, (str, bytes, bytearray, Value)):
        raise ArgumentError("args must be a list of typed values")
    return [normalize(a, f"args[{i}]") for i, a in enumerate(args)]


def _float_json(x: float) -> Any:
    """A float in a form the server reads back to the same double: NaN and the infinities as the
    protocol's strings, everything else as a JSON number (repr is the shortest text that reads
    back; -0.0 stays -0.0)."""
    if math.isnan(x):
        return "-nan" if math.copysign(1.0, x) < 0 else "nan"
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    return x


def wire_value(v: Value) -> Any:
    """The JSON value of one argument: i64 as a number below 2^53 in magnitude, else a decimal
    string (JSON readers that hold numbers as doubles would round it)."""
    if v.type == "i32":
        return v.value
    if v.type == "i64":
        return v.value if abs(v.value) < _TWO_53 else str(v.value)
    if v.type in ("f32", "f64"):
        return _float_json(v.value)
    if v.type == "string":
        return v.value
    if v.type == "bytes":
        return to_base64(v.value)
    raise ArgumentError("unknown value type")


def arguments_json(args: Sequence[Value]) -> list:
    return [{"type": a.type, "value": wire_value(a)} for a in args]


def invocation_json(function_name: str, args: Sequence[Value], results: Optional[Sequence[str]] = None) -> str:
    """The v1.1 invocation document: compact JSON, members in the order docs/protocol.md lists them."""
    doc = {"function_name": function_name, "arguments": arguments_json(args)}
    if results is not None:
        doc["results"] = list(results)
    return dumps(doc)


def wasi_invocation_json(argv: Sequence[str], stdin: bytes) -> str:
    """The invocation of a WASI command (protocol v1.1, "The WASI stdio profile")."""
    return dumps({"function_name": "_start", "argv": list(argv), "stdin": to_base64(stdin)})


def canonical_arguments(args: Sequence[Value]) -> bytes:
    """Canonical argument bytes (docs/crypto.md): per argument its type's code byte, then the
    little-endian bit pattern; string and bytes put a u64 LE length before the content."""
    out = bytearray()
    for a in args:
        code = _CODES[a.type]
        out.append(code)
        if a.type == "i32":
            out += struct.pack("<I", a.value & _U32_MAX)
        elif a.type == "i64":
            out += struct.pack("<Q", a.value & _U64_MAX)
        elif a.type == "f32":
            out += struct.pack("<I", _nan_bits(a.value, _F32_NAN_BITS, 31)) if math.isnan(a.value) \
                else _float_bits(a.value, "<f")
        elif a.type == "f64":
            out += struct.pack("<Q", _nan_bits(a.value, _F64_NAN_BITS, 63)) if math.isnan(a.value) \
                else _float_bits(a.value, "<d")
        else:
            content = a.value.encode("utf-8") if a.type == "string" else a.value
            out += struct.pack("<Q", len(content))
            out += content
    return bytes(out)


def parse_result_value(r: Any, where: str) -> Value:
    """Reads one `{"type","value"}` of the result document into a Value: i64 from a number or a
    decimal string, NaN and the infinities from their strings, bytes from base64. Anything else is
    refused with ValueError."""
    if not isinstance(r, dict):
        raise ValueError(f"{where}: not an object")
    t, v = r.get("type"), r.get("value")
    if t == "i32":
        if not _is_int(v) or not _I32_MIN <= v <= _I32_MAX:
            raise ValueError(f"{where}: bad i32")
        return Value(t, v)
    if t == "i64":
        if _is_int(v):
            n = v
        elif isinstance(v, str) and _DECIMAL.fullmatch(v):
            n = int(v)
        else:
            raise ValueError(f"{where}: bad i64")
        if not _I64_MIN <= n <= _I64_MAX:
            raise ValueError(f"{where}: i64 out of range")
        return Value(t, n)
    if t in ("f32", "f64"):
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            try:
                x = float(v)
            except OverflowError as e:
                raise ValueError(f"{where}: bad {t}") from e
            if math.isinf(x):
                raise ValueError(f"{where}: bad {t}")
        elif v == "nan":
            x = math.nan
        elif v == "inf":
            x = math.inf
        elif v == "-inf":
            x = -math.inf
        else:
            raise ValueError(f"{where}: bad {t}")
        if t == "f32" and not math.isnan(x) and round_f32(x) != x:
            raise ValueError(f"{where}: f32 value is not a binary32")
        return Value(t, x)
    if t == "string":
        if not isinstance(v, str):
            raise ValueError(f"{where}: bad string")
        try:
            v.encode("utf-8")
        except UnicodeEncodeError as e:
            raise ValueError(f"{where}: string is not UTF-8 (a lone surrogate)") from e
        return Value(t, v)
    if t == "bytes":
        if not isinstance(v, str):
            raise ValueError(f"{where}: bad bytes")
        return Value(t, from_base64(v))
    raise ValueError(f"{where}: unknown type {t!r}")
