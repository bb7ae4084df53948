"""The command line, `python3 -m hypervisor_client`, run as a process against the real server, and
its argument typing and number output (hvctl's forms, docs/cli.md) without one."""

from __future__ import annotations

import io
import json
import math
import os
import re
import subprocess
import sys

import pytest

from hypervisor_client import binary, f32, f64, i32, i64, string
from hypervisor_client.cli import UsageError, format_float, main, type_arguments
from hypervisor_client.errors import ArgumentError
from hypervisor_client.wasm import WasmFormatError, export_signature
from conftest import EXAMPLES_WASM_DIR, PACKAGE_ROOT, TEST_WASM_DIR, test_module

NOWHERE = "http://127.0.0.1:9"  # nothing listens: a test using it proves nothing was sent


def run(server_url, api_key, *args, stdin=b""):
    """main() in this process (a new interpreter per call costs a second on a loaded machine), with
    its own stdin, stdout, stderr and environment; returns (exit status, stdout bytes, stderr text)."""
    streams = {name: io.TextIOWrapper(io.BytesIO(stdin if name == "stdin" else b""), encoding="utf-8",
                                      write_through=True) for name in ("stdin", "stdout", "stderr")}
    saved = {name: getattr(sys, name) for name in streams}
    saved_key = os.environ.pop("HYPERVISOR_API_KEY", None)
    try:
        if api_key:
            os.environ["HYPERVISOR_API_KEY"] = api_key
        for name, stream in streams.items():
            setattr(sys, name, stream)
        try:
            code = main(["--server", server_url, *args])
        except SystemExit as e:  # argparse's --version and --help
            code = e.code
        sys.stdout.flush()
        sys.stderr.flush()
    finally:
        for name, stream in saved.items():
            setattr(sys, name, stream)
        os.environ.pop("HYPERVISOR_API_KEY", None)
        if saved_key is not None:
            os.environ["HYPERVISOR_API_KEY"] = saved_key
    return (code, streams["stdout"].buffer.getvalue(),
            streams["stderr"].buffer.getvalue().decode("utf-8", "replace"))


def run_process(server_url, api_key, *args, stdin=b""):
    """The real entry point, `python3 -m hypervisor_client`, as a process."""
    env = dict(os.environ, PYTHONPATH=str(PACKAGE_ROOT), PYTHONDONTWRITEBYTECODE="1")
    env.pop("HYPERVISOR_API_KEY", None)
    if api_key:
        env["HYPERVISOR_API_KEY"] = api_key
    p = subprocess.run([sys.executable, "-m", "hypervisor_client", "--server", server_url, *args], input=stdin,
                       capture_output=True, env=env, timeout=60)
    return p.returncode, p.stdout, p.stderr.decode("utf-8", "replace")


def wasm(name):
    return str(TEST_WASM_DIR / f"{name}.wasm")


def receipt(out: bytes):
    lines = out.decode().splitlines()
    assert lines[-1] == "commitments: verified"
    rid = re.fullmatch(r"request_id: (\S+)", lines[-6]).group(1)
    hashes = {m.group(1): m.group(2) for m in (re.fullmatch(r"(\w+)_commitment: ([0-9a-f]{64})", l) for l in lines[-4:-1]) if m}
    return lines[:-6], rid, hashes


def test_exec_numbers_typed_by_the_export(server):
    code, out, err = run_process(server.url, server.api_key, "exec", "--invoke", "add", wasm("add"), "40", "2")
    assert (code, err) == (0, "")
    values, rid, hashes = receipt(out)
    assert values == ["42"] and set(hashes) == {"result", "program", "arguments"}
    assert run(server.url, server.api_key, "exec", "--invoke", "add", wasm("add"), "-5", "0x3")[1].startswith(b"-2\n")
    assert run(server.url, server.api_key, "exec", "--invoke", "add64", wasm("add"), "9007199254740993",
               "2")[1].startswith(b"9007199254740995\n")
    assert run(server.url, server.api_key, "exec", "--invoke", "divf", wasm("add"), "1", "3")[1].startswith(
        b"0.3333333333333333\n")
    assert run(server.url, server.api_key, "exec", "--invoke", "mulf", wasm("add"), "nan", "1")[1].startswith(b"nan\n")
    assert run(server.url, server.api_key, "exec", "--v1", "--invoke", "add", wasm("add"), "1", "2")[1].startswith(b"3\n")


def test_exec_strings_and_bytes(server, tmp_path):
    code, out, err = run(server.url, server.api_key, "exec", "--invoke", "echo", "--result", "string", wasm("strings"),
                         "s:Grüße, 世界")
    assert code == 0, err
    assert receipt(out)[0] == ["Grüße, 世界"]
    code, out, _ = run(server.url, server.api_key, "exec", "--invoke", "echo", "--result", "bytes", wasm("strings"),
                       "b64:AAEC/w==")
    assert code == 0 and receipt(out)[0] == ["AAEC/w=="]
    src, dst = tmp_path / "in.bin", tmp_path / "out.bin"
    src.write_bytes(bytes(range(256)))
    code, out, _ = run(server.url, server.api_key, "exec", "--invoke", "echo", "--result", "bytes", "--out", str(dst),
                       wasm("strings"), f"@{src}")
    assert code == 0 and dst.read_bytes() == bytes(range(256))
    assert receipt(out)[0] == []
    code, out, _ = run(server.url, server.api_key, "exec", "--invoke", "repeat", "--result", "string", wasm("strings"),
                       "s:ab", "3")
    assert receipt(out)[0] == ["ababab"]


def test_exec_failure_prints_the_sealed_detail(server):
    code, out, err = run(server.url, server.api_key, "exec", "--invoke", "boom", wasm("add"))
    assert (code, out) == (1, b"")
    first, second = err.splitlines()
    assert first.startswith("EXECUTION_TRAP: ") and "unreachable" in first
    assert re.fullmatch(r"request_id: [0-9a-f-]{36}", second)


def test_exec_wrong_api_key(server):
    code, _, err = run(server.url, "hvk_wrong", "exec", "--invoke", "add", wasm("add"), "1", "2")
    assert code == 1 and err.startswith("UNAUTHORIZED: ")


def test_exec_refuses_locally_before_sending():
    # Malformed whatever the module: usage (2). Not fitting the export: INVALID_ARGUMENTS (1).
    code, _, err = run(NOWHERE, "k", "exec", "--invoke", "echo", wasm("strings"), "b64:@@@")
    assert code == 2 and "not valid base64" in err and "usage:" in err
    code, _, err = run(NOWHERE, "k", "exec", "--invoke", "add", wasm("add"), "1")
    assert code == 1 and err.startswith("INVALID_ARGUMENTS: ")
    code, _, err = run(NOWHERE, "k", "exec", "--invoke", "add", wasm("add"), "1", "1.5")
    assert code == 1 and "not a valid i32" in err
    code, _, err = run(NOWHERE, "k", "exec", "--invoke", "nope", wasm("add"))
    assert code == 1 and err.startswith("FUNCTION_NOT_FOUND: ")
    code, _, err = run(NOWHERE, "k", "exec", "--v1", "--invoke", "echo", wasm("strings"), "s:x")
    assert code == 2
    code, _, err = run(NOWHERE, "k", "exec", "--out", "x", "--invoke", "add", wasm("add"), "1", "2")
    assert code == 2 and "--out needs --result" in err
    code, _, err = run(NOWHERE, "k", "exec", "--invoke", "add", "/nonexistent.wasm")
    assert code == 2


def test_no_server_is_exit_1():
    code, _, err = run(NOWHERE, "k", "exec", "--invoke", "add", wasm("add"), "1", "2")
    assert code == 1 and err.startswith("NO_ANSWER: ")


def test_exec_wasi(server, tmp_path):
    wc = EXAMPLES_WASM_DIR / "wasi" / "wc.wasm"
    if not wc.exists():
        pytest.skip(f"no {wc} (the examples are built with the C project)")
    notes = tmp_path / "notes.txt"
    notes.write_bytes(b"one two\nthree\n")
    code, out, err = run(server.url, server.api_key, "exec", "--wasi", "--stdin", str(notes), str(wc))
    assert (code, out) == (0, b"2 3 14\n"), err
    assert err.splitlines()[-1].endswith("commitments: verified")
    code, out, err = run(server.url, server.api_key, "exec", "--wasi", "--stdin", "-", str(wc), stdin=b"")
    assert (code, out) == (3, b"0 0 0\n")
    code, _, err = run(server.url, server.api_key, "exec", "--wasi", "--invoke", "x", str(wc))
    assert code == 2


def test_verify_keys_health_metrics(server):
    code, out, _ = run(server.url, server.api_key, "exec", "--invoke", "answer", wasm("add"))
    _, rid, hashes = receipt(out)
    code, out, _ = run(server.url, None, "verify", rid, "--type", "result", "--hash", hashes["result"])
    assert code == 0 and json.loads(out)["verified"] is True
    code, out, _ = run(server.url, None, "verify", rid, "--type", "program", "--hash", "0" * 64)
    assert code == 1 and json.loads(out)["verified"] is False
    code, out, _ = run(server.url, None, "verify", rid)
    assert code == 0 and json.loads(out)["commitments"] == hashes
    code, _, err = run(server.url, None, "verify", "00000000-0000-4000-8000-000000000000")
    assert code == 1 and err.startswith("NOT_FOUND: ")
    assert json.loads(run(server.url, None, "keys")[1])["suite"]["kem_id"] == 16
    assert json.loads(run(server.url, None, "health")[1])["status"] == "ok"
    code, out, _ = run(server.url, server.api_key, "metrics")
    assert code == 0 and b"hypervisor_executions_total" in out
    code, out, _ = run(server.url, server.api_key, "metrics", "--json")
    assert code == 0 and "executions_total" in json.loads(out)
    code, _, err = run(server.url, None, "metrics")
    assert code == 1 and err.startswith("UNAUTHORIZED")


def test_version_and_usage():
    code, out, _ = run_process(NOWHERE, None, "--version")
    assert code == 0 and out.startswith(b"hypervisor_client 0.1.0")
    assert run_process(NOWHERE, None, "frobnicate")[0] == 2
    assert run(NOWHERE, None, "exec", "--help")[0] == 0


# -- without a server -----------------------------------------------------------------------------

def test_export_signatures_are_read_from_the_module():
    add = test_module("add")
    assert export_signature(add, "add") == (["i32", "i32"], ["i32"])
    assert export_signature(add, "add64") == (["i64", "i64"], ["i64"])
    assert export_signature(add, "pair") == (["i32"], ["i32", "i64"])
    assert export_signature(test_module("strings"), "echo") == (["i32", "i32"], ["i32"])
    # Imported functions come first in the function index space.
    assert export_signature(test_module("wasi_exit"), "_start") == ([], [])
    with pytest.raises(KeyError):
        export_signature(add, "memory")
    for bad in (b"", b"\x00asm\x02\x00\x00\x00", add[:20], b"\x00asm\x01\x00\x00\x00\x01\xff\xff\xff\xff\x0f"):
        with pytest.raises(WasmFormatError):
            export_signature(bad, "add")


def test_arguments_are_typed_like_hvctls():
    assert type_arguments(["1", "-2"], ["i32", "i32"], "f") == [i32(1), i32(-2)]
    assert type_arguments(["4294967295", "0xffffffffffffffff"], ["i32", "i64"], "f") == [i32(-1), i64(-1)]
    assert type_arguments(["1.", ".5", "1e-3", "-inf"], ["f32", "f64", "f64", "f32"], "f") == \
        [f32(1.0), f64(0.5), f64(0.001), f32(-math.inf)]
    assert type_arguments(["s:s:x", "b64:", "7"], ["i32"] * 5, "f") == [string("s:x"), binary(b""), i32(7)]
    for texts, params in ((["4294967296"], ["i32"]), (["1e39"], ["f32"]), (["0x1p3"], ["f64"]), (["NaN"], ["f64"]),
                          ([" 1"], ["i32"]), (["1"], []), ([], ["i32"]), (["s:x"], ["i64", "i32"]), (["1"], ["v128"])):
        with pytest.raises(ArgumentError):
            type_arguments(texts, params, "f")
    with pytest.raises(UsageError):
        type_arguments(["b64:A"], ["i32", "i32"], "f")


@pytest.mark.parametrize("x,is_f32,text", [
    (100.0, False, "100"), (0.1, False, "0.1"), (f32(1 / 3).value, True, "0.33333334"), (-0.0, False, "-0"),
    (9999999999999998.0, False, "9999999999999998"), (1e16, False, "1e+16"), (1e-5, False, "1e-05"),
    (3.4028234663852886e38, True, "3.4028235e+38"), (5e-324, False, "5e-324"), (math.inf, False, "inf"),
    (math.nan, True, "nan"), (-2.5, False, "-2.5"), (0.0001, False, "0.0001"),
])
def test_floats_print_as_hvctl_prints_them(x, is_f32, text):
    assert format_float(x, is_f32) == text
