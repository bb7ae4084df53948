"""The command line: `python3 -m hypervisor_client`, hvctl's commands and argument forms
(docs/cli.md, "hvctl"): exec (v1.1 by default, --v1, --wasi), verify, keys, health, metrics."""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import sys
from typing import List, Optional, Sequence

from . import __version__
from .client import HypervisorClient
from .encoding import from_base64, to_base64
from .errors import ArgumentError, HypervisorError, VerificationError
from .values import Value, normalize, round_f32
from .wasm import WasmFormatError, export_signature

PROG = "python3 -m hypervisor_client"
DEFAULT_SERVER = "http://127.0.0.1:3000"
FILE_MAX = 64 << 20  # an @FILE or --stdin, as hvctl's CLI_VALUE_FILE_MAX

_INT = re.compile(r"([+-]?)(0[xX][0-9a-fA-F]+|[0-9]+)")
_FLOAT = re.compile(r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?")
_INT_RANGE = {"i32": (-(1 << 31), (1 << 32) - 1), "i64": (-(1 << 63), (1 << 64) - 1)}


class UsageError(Exception):
    """Exit 2: a malformed command line or argument text, before anything is sent."""


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # argparse exits 2 itself; this keeps hvctl's "usage:" on stderr
        raise UsageError(message)


def parse_number(text: str, core_type: str, where: str) -> Value:
    """A number argument, typed by the core parameter it lands on (docs/cli.md, "Arguments")."""
    if core_type in _INT_RANGE:
        m = _INT.fullmatch(text)
        if not m:
            raise ArgumentError(f"{where}: not a valid {core_type}")
        n = int(m.group(2), 0) if m.group(2)[:2].lower() == "0x" else int(m.group(2), 10)
        n = -n if m.group(1) == "-" else n
        lo, hi = _INT_RANGE[core_type]
        if not lo <= n <= hi:
            raise ArgumentError(f"{where}: out of range for {core_type}")
        return normalize(Value(core_type, n))
    if core_type in ("f32", "f64"):
        specials = {"nan": math.nan, "+nan": math.nan, "-nan": -math.nan, "inf": math.inf, "+inf": math.inf,
                    "-inf": -math.inf}
        if text in specials:
            x = specials[text]
            if text == "-nan":
                x = math.copysign(math.nan, -1.0)
            return Value(core_type, x)
        if not _FLOAT.fullmatch(text):
            raise ArgumentError(f"{where}: not a valid {core_type}")
        x = float(text)
        if math.isinf(x) or (core_type == "f32" and math.isinf(round_f32(x))):
            raise ArgumentError(f"{where}: out of range for {core_type}")
        return Value(core_type, round_f32(x) if core_type == "f32" else x)
    raise ArgumentError(f"{where}: a {core_type} parameter cannot be given on the command line")


def parse_text_form(text: str, where: str) -> Optional[Value]:
    """The forms that do not depend on the module: s:TEXT, b64:BASE64, @FILE; None for a number.
    Malformed text raises UsageError (exit 2), an unreadable file ArgumentError."""
    if text.startswith("s:"):
        s = text[2:]
        try:
            s.encode("utf-8")  # a command line that was not UTF-8 arrives with lone surrogates
        except UnicodeEncodeError as e:
            raise UsageError(f"{where}: not valid UTF-8") from e
        return Value("string", s)
    if text.startswith("b64:"):
        try:
            return Value("bytes", from_base64(text[4:]))
        except ValueError as e:
            raise UsageError(f"{where}: not valid base64: {e}") from e
    if text.startswith("@"):
        path = text[1:]
        try:
            with open(path, "rb") as f:
                data = f.read(FILE_MAX + 1)
        except OSError as e:
            raise ArgumentError(f"{where}: cannot read {path}: {e.strerror}") from e
        if len(data) > FILE_MAX:
            raise ArgumentError(f"{where}: {path} is larger than {FILE_MAX} bytes")
        return Value("bytes", data)
    return None


def type_arguments(texts: Sequence[str], params: Sequence[str], function: str) -> List[Value]:
    """Walks the arguments against the export's core parameters: a string or bytes takes two
    (i32 ptr, i32 len), a number one of the type it lands on. They must make exactly the
    parameters. Raises ArgumentError (INVALID_ARGUMENTS, exit 1) or UsageError."""
    forms = [parse_text_form(t, f"argument {i + 1} ({t!r})") for i, t in enumerate(texts)]
    out: List[Value] = []
    p = 0
    for i, (text, form) in enumerate(zip(texts, forms)):
        where = f"argument {i + 1} ({text!r})"
        if form is not None:
            if params[p:p + 2] != ["i32", "i32"]:
                raise ArgumentError(f"{where}: a {form.type} takes two i32 parameters (ptr, len) of "
                                    f"'{function}', which has ({', '.join(params)})")
            out.append(form)
            p += 2
        else:
            if p >= len(params):
                raise ArgumentError(f"'{function}' takes {len(params)} core parameters; the arguments make more")
            out.append(parse_number(text, params[p], where))
            p += 1
    if p != len(params):
        raise ArgumentError(f"'{function}' takes {len(params)} core parameters ({', '.join(params)}); "
                            f"the {len(texts)} argument(s) fill {p}")
    return out


def format_float(x: float, f32: bool) -> str:
    """hvctl's float output: the fewest significant digits that read back to the same value,
    positional for a decimal exponent from -4 to 15, C's scientific form otherwise."""
    if math.isnan(x):
        return "nan"
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    for n in range(1, 10 if f32 else 18):
        sci = f"{x:.{n - 1}e}"
        back = float(sci)
        if (round_f32(back) if f32 else back) == x:
            break
    mantissa, exp = sci.split("e")
    e = int(exp)
    if -4 <= e <= 15:
        digits = len(mantissa.replace("-", "").replace(".", ""))
        return f"{x:.{max(0, digits - 1 - e)}f}"
    return sci


def format_value(v: Value) -> bytes:
    if v.type in ("i32", "i64"):
        return f"{v.value}\n".encode()
    if v.type in ("f32", "f64"):
        return (format_float(v.value, v.type == "f32") + "\n").encode()
    if v.type == "string":
        return v.value.encode("utf-8") + b"\n"
    return (to_base64(v.value) + "\n").encode()


def _receipt(r, prefix: str = "") -> List[str]:
    return [f"{prefix}request_id: {r.request_id}", f"{prefix}key_id: {r.key_id}",
            f"{prefix}result_commitment: {r.commitments['result']}",
            f"{prefix}program_commitment: {r.commitments['program']}",
            f"{prefix}arguments_commitment: {r.commitments['arguments']}",
            f"{prefix}commitments: verified"]


def _print_error(e: HypervisorError, prefix: str = "") -> None:
    if isinstance(e, VerificationError):
        print(f"{prefix}{e.error_code}: {e.message}", file=sys.stderr)
    elif e.detail is not None:
        detail = "".join(c if c >= " " or c == "\t" else " " for c in e.detail)
        print(f"{prefix}{e.error_code}: {detail}", file=sys.stderr)
    else:
        print(f"{prefix}{e.error_code}: {e.message}", file=sys.stderr)
    if e.request_id:
        print(f"{prefix}request_id: {e.request_id}", file=sys.stderr)


def _timeout_seconds(text: Optional[str]) -> Optional[int]:
    if text is None:
        return None
    if not re.fullmatch(r"[0-9]+\.?[0-9]*|\.[0-9]+", text) or float(text) <= 0 or float(text) > 300:
        raise UsageError(f"--timeout: {text!r} is not a number of seconds above 0 and at most 300")
    return max(1, math.ceil(float(text)))


def _gas(text: Optional[str]) -> Optional[int]:
    if text is None:
        return None
    m = re.fullmatch(r"0[xX][0-9a-fA-F]+|[0-9]+", text)
    n = int(text, 0) if m and text[:2].lower() == "0x" else (int(text) if m else -1)
    if not 1 <= n <= (1 << 63) - 1:
        raise UsageError(f"--gas: {text!r} is not a count from 1 to 9223372036854775807")
    return n


def _read_file(path: str, what: str) -> bytes:
    try:
        if path == "-":
            data = sys.stdin.buffer.read(FILE_MAX + 1)
        else:
            with open(path, "rb") as f:
                data = f.read(FILE_MAX + 1)
    except OSError as e:
        raise UsageError(f"{what}: cannot read {path}: {e.strerror}") from e
    if len(data) > FILE_MAX:
        raise UsageError(f"{what}: {path} is larger than {FILE_MAX} bytes")
    return data


def build_parser() -> argparse.ArgumentParser:
    common = _Parser(add_help=False)
    common.add_argument("--server", default=argparse.SUPPRESS, help=f"the service's base URL (default {DEFAULT_SERVER})")
    common.add_argument("--api-key", default=argparse.SUPPRESS,
                        help="X-API-Key for exec and metrics (default: $HYPERVISOR_API_KEY)")
    p = _Parser(prog=PROG, parents=[common], description="Client of the WASM Hypervisor (protocol v1 and v1.1).")
    p.add_argument("--version", action="version", version=f"hypervisor_client {__version__}")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)
    sub.add_parser("keys", parents=[common], help="GET /v1/keys")
    sub.add_parser("health", parents=[common], help="GET /health")
    m = sub.add_parser("metrics", parents=[common], help="GET /metrics")
    m.add_argument("--json", action="store_true", help="the JSON form instead of Prometheus text")
    e = sub.add_parser("exec", parents=[common], help="run an export of a module, sealed end to end")
    e.add_argument("--invoke", default=None, metavar="NAME", help="the export to call (default main)")
    e.add_argument("--timeout", metavar="SECONDS", help="timeout_seconds, rounded up (at most 300)")
    e.add_argument("--gas", metavar="N", help="gas_limit")
    e.add_argument("--result", choices=["string", "bytes"], help="declare one string or bytes result (v1.1)")
    e.add_argument("--out", metavar="FILE", help="write the string/bytes result's raw bytes to FILE")
    e.add_argument("--v1", action="store_true", help="send the protocol v1 form (numbers only)")
    e.add_argument("--wasi", action="store_true", help="run FILE as a WASI command; the ARGs are its argv after argv[0]")
    e.add_argument("--stdin", metavar="FILE", help="with --wasi: the command's stdin ('-': this process's)")
    e.add_argument("file", metavar="FILE.wasm")
    e.add_argument("args", nargs=argparse.REMAINDER, metavar="ARG",
                   help="numbers (typed by the export), s:TEXT, b64:BASE64, @FILE")
    v = sub.add_parser("verify", parents=[common], help="GET /v1/verify/REQUEST_ID")
    v.add_argument("request_id", metavar="REQUEST_ID")
    v.add_argument("--type", choices=["result", "program", "arguments"])
    v.add_argument("--hash", metavar="HEX")
    return p


def _client(ns) -> HypervisorClient:
    server = getattr(ns, "server", DEFAULT_SERVER)
    api_key = getattr(ns, "api_key", None) or os.environ.get("HYPERVISOR_API_KEY")
    return HypervisorClient(server, api_key)


def _exec(ns) -> int:
    if ns.wasi and (ns.invoke or ns.result or ns.out or ns.v1):
        raise UsageError("--wasi does not go with --invoke, --result, --out or --v1")
    if ns.stdin is not None and not ns.wasi:
        raise UsageError("--stdin needs --wasi")
    if ns.out and not ns.result:
        raise UsageError("--out needs --result")
    if ns.v1 and ns.result:
        raise UsageError("--result needs protocol v1.1 (not --v1)")
    timeout, gas = _timeout_seconds(ns.timeout), _gas(ns.gas)
    wasm = _read_file(ns.file, "FILE")
    client = _client(ns)
    if ns.wasi:
        stdin = _read_file(ns.stdin, "--stdin") if ns.stdin is not None else b""
        try:
            r = client.execute_wasi(wasm, [os.path.basename(ns.file)] + list(ns.args), stdin,
                                    timeout_seconds=timeout, gas_limit=gas)
        except ArgumentError as e:
            print(f"INVALID_ARGUMENTS: {e}", file=sys.stderr)
            return 125
        except HypervisorError as e:
            _print_error(e)
            return 125
        sys.stdout.buffer.write(r.stdout)
        sys.stdout.flush()
        sys.stderr.buffer.write(r.stderr)
        sys.stderr.flush()
        print("\n".join(_receipt(r, "hypervisor_client: ")), file=sys.stderr)
        return min(r.exit_code, 255)

    function = ns.invoke or "main"
    try:
        try:
            params, _results = export_signature(wasm, function)
        except KeyError:
            print(f"FUNCTION_NOT_FOUND: the module exports no function '{function}'", file=sys.stderr)
            return 1
        except WasmFormatError as e:
            print(f"INVALID_WASM: {e}", file=sys.stderr)
            return 1
        values = type_arguments(ns.args, params, function)
        if ns.v1 and any(v.type in ("string", "bytes") for v in values):
            raise UsageError("--v1 takes numbers only: strings and bytes need protocol v1.1")
        r = client.execute(wasm, function, values, protocol="1" if ns.v1 else "1.1",
                           results=[ns.result] if ns.result else None, timeout_seconds=timeout, gas_limit=gas)
    except ArgumentError as e:
        print(f"INVALID_ARGUMENTS: {e}", file=sys.stderr)
        return 1
    except HypervisorError as e:
        _print_error(e)
        return 1
    if ns.out:
        raw = r.results[0].value
        with open(ns.out, "wb") as f:
            f.write(raw.encode("utf-8") if isinstance(raw, str) else raw)
    else:
        for v in r.results:
            sys.stdout.buffer.write(format_value(v))
    sys.stdout.flush()
    print("\n".join(_receipt(r)))
    return 0


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = build_parser()
    try:
        ns = parser.parse_args(argv)
        if ns.command == "exec":
            return _exec(ns)
        client = _client(ns)
        if ns.command == "keys":
            out = client.keys()
        elif ns.command == "health":
            out = client.health()
        elif ns.command == "metrics":
            out = client.metrics(json=ns.json)
        else:
            if (ns.type is None) != (ns.hash is None):
                raise UsageError("--type and --hash go together")
            out = client.verify(ns.request_id, ns.type, ns.hash)
            print(json.dumps(out, indent=2, ensure_ascii=False))
            return 1 if ns.type is not None and out.get("verified") is not True else 0
        print(out if isinstance(out, str) else json.dumps(out, indent=2, ensure_ascii=False), end="" if isinstance(out, str) else "\n")
        return 0
    except UsageError as e:
        print(f"{PROG}: {e}", file=sys.stderr)
        parser.print_usage(sys.stderr)
        return 2
    except HypervisorError as e:
        _print_error(e)
        return 1
    except ArgumentError as e:
        print(f"{PROG}: {e}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        return 1
