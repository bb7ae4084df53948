"""Shared fixtures: where the server binary, the test modules and the RFC vectors are, and the real
server the end-to-end tests talk to (started as tests/server/harness.c and clients/js/test/server.js
start it)."""

from __future__ import annotations

import hashlib
import os
import pathlib
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

import pytest

HERE = pathlib.Path(__file__).resolve().parent
PACKAGE_ROOT = HERE.parent  # clients/python
REPO = PACKAGE_ROOT.parent.parent
sys.path.insert(0, str(PACKAGE_ROOT))

HYPERVISOR_BIN = pathlib.Path(os.environ.get("HV_HYPERVISOR_BIN") or REPO / "build/src/cli/hypervisor")
TEST_WASM_DIR = pathlib.Path(os.environ.get("HV_TEST_WASM_DIR") or REPO / "build/tests/server/wasm")
EXAMPLES_WASM_DIR = pathlib.Path(os.environ.get("HV_EXAMPLES_WASM_DIR") or REPO / "build/examples")
TESTDATA = pathlib.Path(os.environ.get("HV_TESTDATA") or REPO.parent / "shared/testdata")

# urllib honours http_proxy; the test servers are on loopback, never behind a proxy.
for _name in ("no_proxy", "NO_PROXY"):
    os.environ[_name] = ",".join(filter(None, ["127.0.0.1,localhost", os.environ.get(_name)]))


def test_module(name: str) -> bytes:
    """A compiled tests/server/wat module, e.g. "add"."""
    return (TEST_WASM_DIR / f"{name}.wasm").read_bytes()


test_module.__test__ = False  # not a test, despite its name


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """A running `hypervisor serve` on a free loopback port with one API key."""

    def __init__(self, url: str, api_key: str, directory: pathlib.Path, process: subprocess.Popen):
        self.url = url
        self.api_key = api_key
        self.dir = directory
        self.process = process

    def output(self) -> str:
        text = ""
        for name in ("stdout", "server.log"):
            try:
                text += (self.dir / name).read_text(errors="replace")
            except OSError:
                pass
        return text

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode


def start_server(*, max_body_bytes: int = 16 << 20, requests_per_second: int = 1000, burst: int = 1000) -> Server:
    """A new server; the defaults are high enough that the tests never meet the limits."""
    for what, p in (("HV_HYPERVISOR_BIN", HYPERVISOR_BIN), ("HV_TEST_WASM_DIR", TEST_WASM_DIR)):
        if not p.exists():
            raise RuntimeError(f"{what}: {p} does not exist (build the C project first)")
    directory = pathlib.Path(tempfile.mkdtemp(prefix="hv-py-test-"))
    port = _free_port()
    api_key = "hvk_" + secrets.token_hex(32)
    digest = hashlib.sha256(api_key.encode()).hexdigest()
    config = directory / "config.yaml"
    config.write_text("\n".join([
        "server:",
        '  host: "127.0.0.1"',
        f"  port: {port}",
        "  workers: 2",
        f"  max_body_bytes: {max_body_bytes}",
        "wasm:",
        "  max_execution_time_seconds: 10",
        # The WASI stdio profile, for the command tests; modules without imports (every scenario's)
        # are still called as functions, and a non-WASI import is still INVALID_WASM.
        "  wasi: stdio",
        "crypto:",
        f'  key_dir: "{directory}/data/keys"',
        "storage:",
        "  backend: sqlite",
        f'  path: "{directory}/data/audit.db"',
        "rate_limit:",
        f"  requests_per_second: {requests_per_second}",
        f"  burst: {burst}",
        "logging:",
        "  level: info",
        f'  file: "{directory}/server.log"',
        "auth:",
        "  api_keys:",
        "    - id: py-test",
        f'      sha256: "{digest}"',
        "",
    ]))
    env = dict(os.environ)
    env.pop("HYPERVISOR_LOG", None)
    with open(directory / "stdout", "ab") as out:
        process = subprocess.Popen([str(HYPERVISOR_BIN.resolve()), "serve", "--config", str(config)], cwd=directory,
                                   stdin=subprocess.DEVNULL, stdout=out, stderr=out, env=env)
    server = Server(f"http://127.0.0.1:{port}", api_key, directory, process)
    deadline = time.monotonic() + 30
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited ({process.returncode}) before it was healthy:\n{server.output()}")
        try:
            with urllib.request.urlopen(f"{server.url}/health", timeout=2) as r:
                if r.status == 200:
                    return server
        except OSError:
            pass
        if time.monotonic() > deadline:
            process.kill()
            raise RuntimeError(f"the server was not healthy within 30 s:\n{server.output()}")
        time.sleep(0.02)


def _serve(**limits):
    s = start_server(**limits)
    yield s
    out = s.output()
    status = s.stop()
    shutil.rmtree(s.dir, ignore_errors=True)
    # The server stops cleanly on SIGTERM; anything else is a finding worth its output.
    assert status == 0, f"the server exited with {status}:\n{out[-4000:]}"


@pytest.fixture(scope="session")
def server():
    yield from _serve()


@pytest.fixture(scope="session")
def small_server():
    """A server with the smallest body limit (1 KiB) and a rate limit of 1 request a second with a
    burst of 2, for PAYLOAD_TOO_LARGE and RATE_LIMITED."""
    yield from _serve(max_body_bytes=1024, requests_per_second=1, burst=2)


@pytest.fixture(scope="session")
def client(server):
    from hypervisor_client import HypervisorClient
    return HypervisorClient(server.url, server.api_key)


@pytest.fixture(scope="session")
def modules():
    return {name: test_module(name) for name in ("add", "strings", "bigmem", "secret_import")}
