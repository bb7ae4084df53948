"""End-to-end against the real server binary (conftest.py starts it): the shared scenario table,
then the other endpoints, authentication, verification, WASI commands, what goes on the wire, and
replies changed on the way, which must all be refused."""

from __future__ import annotations

import json
import re
import uuid

import pytest

from hypervisor_client import (HypervisorClient, HypervisorError, Reply, TransportError, VerificationError, binary,
                               i32, string, urllib_transport)
from hypervisor_client import hpke
from hypervisor_client.encoding import from_base64, to_base64
from conftest import EXAMPLES_WASM_DIR
from scenarios import SCENARIOS

UUID4 = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")


@pytest.mark.parametrize("s", SCENARIOS, ids=[s.name for s in SCENARIOS])
def test_scenario(client, modules, s):
    call = lambda: client.execute(modules[s.module], s.function, s.args, **s.options)  # noqa: E731
    if s.results is not None:
        r = call()
        assert r.results == s.results
        assert UUID4.fullmatch(r.request_id)
        assert r.execution_summary["status"] == "success"
        return
    want = s.error
    with pytest.raises(HypervisorError) as info:
        call()
    err = info.value
    assert not isinstance(err, VerificationError), repr(err)
    assert err.http_status == want.http_status
    assert err.error_code == want.error_code
    assert isinstance(err.request_id, str)
    assert isinstance(err.body.get("encrypted_error"), str), "the reply carries encrypted_error"
    assert isinstance(err.detail, str), "the sealed detail was opened"
    assert want.detail.search(err.detail), err.detail
    if want.clear_hides:
        assert want.clear_hides not in err.message, f"the clear message shows {want.clear_hides!r}: {err.message}"
        assert want.clear_hides not in json.dumps(err.body, ensure_ascii=False), "the clear reply shows the program's names"


def test_health_and_keys(client):
    assert client.health()["status"] == "ok"
    k = client.keys()
    assert k["suite"] == {"kem_id": 16, "kdf_id": 1, "aead_id": 2}
    assert any(key.get("current") is True and re.fullmatch(r"[0-9a-f]{16}", key["key_id"]) for key in k["keys"])


def test_metrics_text_and_json_and_authenticated(client, server):
    assert re.search(r'^hypervisor_executions_total\{status="success"\} \d+$', client.metrics(), re.M)
    j = client.metrics(json=True)
    assert isinstance(j["executions_total"]["success"], int)
    with pytest.raises(HypervisorError) as info:
        HypervisorClient(server.url).metrics()
    assert info.value.error_code == "UNAUTHORIZED" and info.value.http_status == 401


@pytest.mark.parametrize("api_key", ["hvk_wrong", None])
def test_wrong_api_key_is_401_without_request_id(server, modules, api_key):
    with pytest.raises(HypervisorError) as info:
        HypervisorClient(server.url, api_key).execute(modules["add"], "add", [i32(1), i32(2)])
    e = info.value
    assert (e.http_status, e.error_code, e.request_id) == (401, "UNAUTHORIZED", None)
    assert not isinstance(e, VerificationError)


def test_verify(client, modules):
    r = client.execute(modules["strings"], "echo", [string("verify me")], results=["string"])
    answers = client.verify_all(r)
    assert answers["verified"] is True
    for t in ("result", "program", "arguments"):
        assert answers[t]["verified"] is True and answers[t]["commitment_type"] == t
        wrong = ("1" if r.commitments[t][0] == "0" else "0") + r.commitments[t][1:]
        assert client.verify(r.request_id, t, wrong)["verified"] is False, f"a wrong {t} hash"
    record = client.verify(r.request_id)
    assert record["commitments"] == r.commitments and record["status"] == "success"
    with pytest.raises(HypervisorError) as info:
        client.verify(str(uuid.uuid4()))
    assert (info.value.http_status, info.value.error_code) == (404, "NOT_FOUND")
    forged = type(r)(**{**r.__dict__, "commitments": {**r.commitments, "arguments": "0" * 64}})
    with pytest.raises(VerificationError) as info:
        client.verify_all(forged)
    assert info.value.error_code == "COMMITMENT_NOT_VERIFIED" and info.value.commitment == "arguments"


def test_failed_execution_is_audited_and_verifiable(client, modules):
    with pytest.raises(HypervisorError) as info:
        client.execute(modules["add"], "boom", [])
    record = client.verify(info.value.request_id)
    assert record["request_id"] == info.value.request_id
    assert record["status"] != "success"


def test_request_metadata_timeout_and_gas_are_sent(client, modules):
    sent = []
    c = _on_path(client, lambda b: None, sent.append)
    r = c.execute(modules["add"], "add", [i32(2), i32(3)], request_metadata={"job": "py"}, timeout_seconds=5,
                  gas_limit=123456)
    assert r.values == [5]
    assert sent[-1]["request_metadata"] == {"job": "py"}
    assert sent[-1]["timeout_seconds"] == 5 and sent[-1]["gas_limit"] == 123456
    assert r.execution_summary["gas_limit"] == 123456


# -- WASI commands ------------------------------------------------------------------------------

def _wc():
    path = EXAMPLES_WASM_DIR / "wasi" / "wc.wasm"
    if not path.exists():
        pytest.skip(f"no {path} (the examples are built with the C project)")
    return path.read_bytes()


def test_wasi_command_argv_stdin_stdout_stderr_exit_code(client):
    wc = _wc()
    r = client.execute_wasi(wc, ["wc", "-v"], b"one two\nthree\n")
    assert r.exit_code == 0
    assert r.stdout == b"2 3 14\n"
    assert r.stderr == b"wc: 2 arguments\n"  # -v: argv[0] and argc, on stderr
    assert r.results is None and r.document["function_name"] == "_start"
    assert client.verify_all(r)["verified"] is True
    empty = client.execute_wasi(wc, ["wc"])
    assert (empty.exit_code, empty.stdout) == (3, b"0 0 0\n")  # wc exits 3 on empty stdin


def test_wasi_exit_code_travels(client):
    from conftest import test_module
    r = client.execute_wasi(test_module("wasi_exit"), ["wasi_exit"])
    assert (r.exit_code, r.stdout, r.stderr) == (42, b"before\n", b"")


def test_wasi_command_arguments_commitment_covers_argv_and_stdin(client):
    """The reply's arguments_commitment is over argv and stdin: a party changing the commitment
    on the way is caught, so the check really is over those values."""
    wc = _wc()
    c = _on_path(client, lambda b: b.update(arguments_commitment=_flip_hex(b["arguments_commitment"])))
    with pytest.raises(VerificationError) as info:
        c.execute_wasi(wc, ["wc"], b"x")
    assert info.value.commitment == "arguments"


# -- the wire and replies changed on the way ----------------------------------------------------

def _on_path(client, change, on_request=lambda body: None) -> HypervisorClient:
    """A client whose transport hands every request body to `on_request` and every execute reply
    body to `change` before the client sees it: a party on the path."""

    def transport(method, url, headers, body, timeout):
        if body:
            on_request(json.loads(body))
        reply = urllib_transport(method, url, headers, body, timeout)
        if not url.endswith("/v1/execute"):
            return reply
        parsed = json.loads(reply.body)
        replaced = change(parsed)
        data = replaced if isinstance(replaced, bytes) else json.dumps(parsed).encode()
        return Reply(reply.status, reply.headers, data)

    return HypervisorClient(client.base_url, client.api_key, transport=transport)


def test_v11_seals_the_invocation_v1_sends_it_in_clear(client, modules):
    sent = []
    c = _on_path(client, lambda b: None, sent.append)
    c.execute(modules["add"], "add", [i32(1), i32(2)])
    c.execute(modules["add"], "add", [i32(1), i32(2)], protocol="1")
    assert len(sent) == 2
    assert isinstance(sent[0]["encrypted_invocation"], str)
    assert "function_name" not in sent[0] and "arguments" not in sent[0], "v1.1 sends no clear invocation"
    assert sent[1]["function_name"] == "add"
    assert sent[1]["arguments"] == [{"type": "i32", "value": 1}, {"type": "i32", "value": 2}]
    assert "encrypted_invocation" not in sent[1]
    assert sent[0]["public_key"] != sent[1]["public_key"], "a fresh client key per request"
    # enc (65) + the module + the tag (16), as docs/crypto.md says.
    assert len(from_base64(sent[0]["encrypted_wasm"])) == 65 + len(modules["add"]) + 16


def _flip_hex(h: str) -> str:
    return ("1" if h[0] == "0" else "0") + h[1:]


def _flip_base64(b: str) -> str:
    raw = bytearray(from_base64(b))
    raw[-1] ^= 1
    return to_base64(bytes(raw))


def _set(key, value):
    return lambda b: b.__setitem__(key, value)


TAMPERED = [
    ("result_commitment", lambda b: b.update(result_commitment=_flip_hex(b["result_commitment"])),
     "COMMITMENT_MISMATCH", "result"),
    ("program_commitment", lambda b: b.update(program_commitment=_flip_hex(b["program_commitment"])),
     "COMMITMENT_MISMATCH", "program"),
    ("arguments_commitment", lambda b: b.update(arguments_commitment=_flip_hex(b["arguments_commitment"])),
     "COMMITMENT_MISMATCH", "arguments"),
    ("encrypted_result", lambda b: b.update(encrypted_result=_flip_base64(b["encrypted_result"])), "BAD_RESPONSE", None),
    ("request_id", lambda b: b.update(request_id=str(uuid.uuid4())), "BAD_RESPONSE", None),
    ("encrypted_result as bad base64", _set("encrypted_result", "@@not base64@@"), "BAD_RESPONSE", None),
    ("encrypted_result cut short", lambda b: b.update(encrypted_result=b["encrypted_result"][:40]), "BAD_RESPONSE", None),
    ("a commitment that is not hex of 64", _set("result_commitment", "abc"), "BAD_RESPONSE", None),
    ("a commitment missing", lambda b: b.pop("program_commitment"), "BAD_RESPONSE", None),
    ("key_id", _set("key_id", "0000000000000000"), "BAD_RESPONSE", None),
    ("the body as non-JSON", lambda b: b"<html>proxy error</html>", "BAD_RESPONSE", None),
    ("the body as a JSON array", lambda b: b"[1,2,3]", "BAD_RESPONSE", None),
    ("the body with a duplicate member", lambda b: (json.dumps(b)[:-1] + ',"request_id":"x"}').encode(),
     "BAD_RESPONSE", None),
]


@pytest.mark.parametrize("name,change,code,commitment", TAMPERED, ids=[t[0] for t in TAMPERED])
def test_changed_reply_is_refused(client, modules, name, change, code, commitment):
    c = _on_path(client, change)
    with pytest.raises(VerificationError) as info:
        c.execute(modules["strings"], "echo", [string("tamper")], results=["string"])
    assert info.value.error_code == code
    assert info.value.commitment == commitment


def test_result_sealed_for_another_request_is_refused(client, modules):
    """A genuine reply of another request, replayed: it opens with neither this key nor request_id."""
    other = []

    def keep(b):
        other.append(dict(b))

    _on_path(client, keep).execute(modules["add"], "add", [i32(1), i32(2)])
    c = _on_path(client, lambda b: b.update({k: other[0][k] for k in other[0] if k != "key_id"}))
    with pytest.raises(VerificationError):
        c.execute(modules["add"], "add", [i32(1), i32(2)])


def test_changed_encrypted_error_is_refused_keeping_the_servers_error(client, modules):
    c = _on_path(client, lambda b: b.update(encrypted_error=_flip_base64(b["encrypted_error"])))
    with pytest.raises(VerificationError) as info:
        c.execute(modules["add"], "boom", [])
    cause = info.value.__cause__
    assert isinstance(cause, HypervisorError) and cause.error_code == "EXECUTION_TRAP"


def test_sealed_error_moved_to_another_request_id_is_refused(client, modules):
    c = _on_path(client, lambda b: b.update(request_id=str(uuid.uuid4())))
    with pytest.raises(VerificationError):
        c.execute(modules["add"], "boom", [])


def test_sealed_error_with_another_code_in_clear_is_refused(client, modules):
    c = _on_path(client, _set("error_code", "GAS_EXHAUSTED"))
    with pytest.raises(VerificationError) as info:
        c.execute(modules["add"], "boom", [])
    assert "EXECUTION_TRAP" in info.value.message


def test_keys_listing_with_a_wrong_key_id_is_refused(client, modules):
    def transport(method, url, headers, body, timeout):
        reply = urllib_transport(method, url, headers, body, timeout)
        if url.endswith("/v1/keys"):
            k = json.loads(reply.body)
            for key in k["keys"]:
                key["key_id"] = "0123456789abcdef"
            return Reply(reply.status, reply.headers, json.dumps(k).encode())
        return reply

    with pytest.raises(VerificationError):
        HypervisorClient(client.base_url, client.api_key, transport=transport).execute(modules["add"], "answer")


def test_no_server_is_a_transport_error():
    with pytest.raises(TransportError) as info:
        HypervisorClient("http://127.0.0.1:9", timeout=5).health()
    assert info.value.error_code == "NO_ANSWER"


def test_bytes_and_module_given_as_views_are_sent_as_the_views(client, modules):
    big = bytearray(b"\xee" * 8) + modules["strings"] + bytearray(b"\xee" * 8)
    view = memoryview(big)[8:8 + len(modules["strings"])]
    r = client.execute(view, "echo", [binary(memoryview(b"\xee\x01\x02\x03\xfa\xee")[1:5])], results=["bytes"])
    assert r.results == [binary(b"\x01\x02\x03\xfa")]


# -- the protocol errors the scenario table cannot provoke: the request itself is refused --------

def _request_changed(client, change) -> HypervisorClient:
    """A client whose execute request body is changed on the way to the server."""

    def transport(method, url, headers, body, timeout):
        if url.endswith("/v1/execute"):
            doc = json.loads(body)
            change(doc)
            body = json.dumps(doc).encode()
        return urllib_transport(method, url, headers, body, timeout)

    return HypervisorClient(client.base_url, client.api_key, transport=transport)


@pytest.mark.parametrize("name,change,status,code", [
    ("a changed encrypted_wasm", lambda b: b.update(encrypted_wasm=_flip_base64(b["encrypted_wasm"])), 400,
     "ENCRYPTION_ERROR"),
    ("a changed encrypted_invocation",
     lambda b: b.update(encrypted_invocation=_flip_base64(b["encrypted_invocation"])), 400, "ENCRYPTION_ERROR"),
    ("an unknown key_id", _set("key_id", "0123456789abcdef"), 400, "ENCRYPTION_ERROR"),
    ("another client key than the one sealed to",
     lambda b: b.update(public_key=to_base64(hpke.sec1(hpke.generate_key_pair().public_key()))), 400,
     "ENCRYPTION_ERROR"),
    ("a timeout out of range", _set("timeout_seconds", 0), 400, "INVALID_REQUEST"),
    ("public_key that is not base64", _set("public_key", "@@@"), 400, "INVALID_REQUEST"),
    ("function_name beside encrypted_invocation", _set("function_name", "add"), 400, "INVALID_REQUEST"),
])
def test_refused_requests_are_clear_errors(client, modules, name, change, status, code):
    with pytest.raises(HypervisorError) as info:
        _request_changed(client, change).execute(modules["add"], "add", [i32(1), i32(2)])
    e = info.value
    assert not isinstance(e, VerificationError), repr(e)
    assert (e.http_status, e.error_code) == (status, code), e.message
    assert e.detail is None  # nothing was opened, so nothing was sealed for the client


def test_payload_too_large(small_server, modules):
    c = HypervisorClient(small_server.url, small_server.api_key)
    with pytest.raises(HypervisorError) as info:
        c.execute(modules["strings"], "echo", [binary(bytes(2048))], results=["bytes"])
    assert (info.value.http_status, info.value.error_code) == (413, "PAYLOAD_TOO_LARGE")


def test_rate_limited_with_retry_after(small_server, modules):
    c = HypervisorClient(small_server.url, small_server.api_key)
    for _ in range(10):  # a burst of 2 at 1 a second: the limit comes within a few requests
        try:
            c.execute(modules["add"], "answer")
        except HypervisorError as e:
            assert (e.http_status, e.error_code) == (429, "RATE_LIMITED"), e.message
            assert isinstance(e.retry_after, int) and e.retry_after >= 1
            return
    pytest.fail("ten requests at once never met a rate limit of 1 a second with a burst of 2")
