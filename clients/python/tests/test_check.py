"""No server: what the client refuses to believe. Result documents checked against the request and
the three commitments (built from docs/crypto.md's worked example and then changed), the strict
base64 and JSON readers, and HPKE inputs a hostile server could send."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives import serialization

from hypervisor_client import VerificationError, arguments_commitment, canonical_arguments, i32, program_commitment
from hypervisor_client import hpke
from hypervisor_client.encoding import from_base64, parse_json, to_base64
from hypervisor_client.protocol import (INFO_RESPONSE, check_result, open_sealed, result_commitment,
                                        wasi_canonical_values)

NONCE = bytes(range(32))
WASM = bytes.fromhex("0061736d01000000")
RID = "123e4567-e89b-42d3-a456-426614174000"
PROGRAM_SHA = "93a44bbb96c751218e4c00d479e4c14358122a389acca16205b1e4d0dc5f9476"
ARGS = [i32(40), i32(44)]


def _doc(results='[{"type":"i32","value":84}]', *, rid=RID, fn="add", sha=PROGRAM_SHA, nonce=NONCE.hex(), extra=""):
    return (f'{{"request_id":"{rid}","function_name":"{fn}","results":{results},"program_sha256":"{sha}",'
            f'"nonce":"{nonce}"{extra}}}').encode()


def _commitments(doc: bytes, args=ARGS, wasm=WASM):
    return {"result": result_commitment(doc), "program": program_commitment(NONCE, wasm),
            "arguments": arguments_commitment(NONCE, canonical_arguments(args))}


def _check(doc: bytes, commitments=None, **kw):
    kw.setdefault("args", ARGS)
    return check_result(document=doc, request_id=kw.pop("request_id", RID), function_name=kw.pop("fn", "add"),
                        wasm=kw.pop("wasm", WASM), commitments=commitments or _commitments(doc, kw["args"]), **kw)


def test_a_document_that_checks_out():
    doc = _doc()
    assert result_commitment(doc) == "b4f9aa305a4a441b09f09e534be0a0285a19601e7ed10f9a8b8714d36e876ea7"
    r = _check(doc)
    assert r.results == [i32(84)]
    assert r.computed == _commitments(doc)


@pytest.mark.parametrize("which", ["result", "program", "arguments"])
def test_each_commitment_that_does_not_match_is_refused(which):
    doc = _doc()
    c = _commitments(doc)
    c[which] = ("1" if c[which][0] == "0" else "0") + c[which][1:]
    with pytest.raises(VerificationError) as info:
        _check(doc, c)
    assert (info.value.error_code, info.value.commitment) == ("COMMITMENT_MISMATCH", which)


def test_other_arguments_or_module_than_were_sent_are_refused():
    doc = _doc()
    with pytest.raises(VerificationError) as info:
        _check(doc, _commitments(doc), args=[i32(40), i32(45)])
    assert info.value.commitment == "arguments"
    with pytest.raises(VerificationError) as info:
        _check(doc, _commitments(doc), wasm=WASM + b"\x00")
    assert "another program" in info.value.message


@pytest.mark.parametrize("doc,says", [
    (_doc(rid="00000000-0000-4000-8000-000000000000"), "another request"),
    (_doc(fn="sub"), "another function"),
    (_doc(sha="0" * 64), "another program"),
    (_doc(nonce="zz" * 32), "bad nonce"),
    (_doc(nonce=NONCE.hex()[:-2]), "bad nonce"),
    (_doc(nonce=NONCE.hex().upper()), "bad nonce"),
    (_doc(results='{"type":"i32","value":84}'), "do not read"),
    (_doc(results='[{"type":"i32","value":2147483648}]'), "do not read"),
    (_doc(results='[{"type":"i32","value":84}]', extra=',"exit_code":0'), "both results and exit_code"),
    (_doc(results='[{"type":"i32","value":84}]', extra=',"nonce":"00"'), "not UTF-8 JSON"),
    (_doc(results='[{"type":"f64","value":NaN}]'), "not UTF-8 JSON"),
    (b'\xff' + _doc(), "not UTF-8 JSON"),
    (b'[1]', "not an object"),
])
def test_documents_that_do_not_check_out_are_refused(doc, says):
    with pytest.raises(VerificationError) as info:
        _check(doc)  # the commitments are the document's own: only the content is wrong
    assert info.value.error_code == "BAD_RESPONSE"
    assert says in info.value.message


def test_declared_results_must_be_what_came_back():
    doc = _doc()
    with pytest.raises(VerificationError) as info:
        _check(doc, declared_results=["string"])
    assert "declared" in info.value.message


def test_a_command_document_for_a_function_call_and_the_reverse_are_refused():
    wasi_doc = (f'{{"request_id":"{RID}","function_name":"_start","exit_code":3,"stdout":"aGVsbG8K","stderr":"",'
                f'"program_sha256":"{PROGRAM_SHA}","nonce":"{NONCE.hex()}"}}').encode()
    values = wasi_canonical_values(["wc"], b"")
    r = _check(wasi_doc, fn="_start", args=values, wasi=True)
    assert (r.exit_code, r.stdout, r.stderr) == (3, b"hello\n", b"")
    with pytest.raises(VerificationError):
        _check(wasi_doc, fn="_start", args=values, wasi=False)
    with pytest.raises(VerificationError):
        _check(_doc(), wasi=True)
    bad_out = wasi_doc.replace(b'"aGVsbG8K"', b'"aGVsbG8K="')
    with pytest.raises(VerificationError):
        _check(bad_out, fn="_start", args=values, wasi=True)


# -- strict readers -----------------------------------------------------------------------------

@pytest.mark.parametrize("text,want", [
    ("", b""), ("AA==", b"\x00"), ("AA", b"\x00"), ("AAE=", b"\x00\x01"), ("AAH+/w==", b"\x00\x01\xfe\xff"),
    ("AAH-_w", b"\x00\x01\xfe\xff"), ("AAH-_w==", b"\x00\x01\xfe\xff"),
])
def test_base64_accepts_the_forms_the_service_reads(text, want):
    assert from_base64(text) == want


@pytest.mark.parametrize("text", ["A", "AAA=A", "AB==", "AAH+_w==", "AA =", " AA=", "AA\n", "A===", "AA=", "Zm9v!",
                                  "AAé=", "=AAA"])
def test_base64_refuses_everything_else(text):
    with pytest.raises(ValueError):
        from_base64(text)


def test_base64_round_trips_every_length():
    data = bytes(range(256)) * 3
    for n in range(0, 70):
        assert from_base64(to_base64(data[:n])) == data[:n]


@pytest.mark.parametrize("text", ['{"a":1,"a":2}', '{"a":NaN}', '{"a":Infinity}', '[-Infinity]', b'"\xc0\xaf"', '{'])
def test_json_reader_is_strict(text):
    with pytest.raises(ValueError):
        parse_json(text)


# -- HPKE inputs from a hostile server ----------------------------------------------------------

def test_server_keys_that_are_not_p256_points_are_refused():
    good = hpke.sec1(hpke.generate_key_pair().public_key())
    off_curve = good[:-1] + bytes([good[-1] ^ 1])
    for bad in (off_curve, good[:33], b"\x00", b"", b"\x04" + b"\x00" * 64, b"\x02" + good[1:33]):
        with pytest.raises(hpke.HpkeError):
            hpke.public_key_from_bytes(bad)
    der = hpke.generate_key_pair().public_key().public_bytes(serialization.Encoding.DER,
                                                             serialization.PublicFormat.SubjectPublicKeyInfo)
    assert len(hpke.sec1(hpke.public_key_from_bytes(der))) == 65
    from cryptography.hazmat.primitives.asymmetric import ec
    p384 = ec.generate_private_key(ec.SECP384R1()).public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    from cryptography.hazmat.primitives.asymmetric import ed25519
    ed = ed25519.Ed25519PrivateKey.generate().public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    for bad in (p384, ed, der + b"\x00", b"\x30\x03\x02\x01\x01"):
        with pytest.raises(hpke.HpkeError):
            hpke.public_key_from_bytes(bad)


def test_sealed_results_that_do_not_open_are_refused():
    client = hpke.generate_key_pair()
    sealed = hpke.seal_base(client.public_key(), INFO_RESPONSE, RID.encode(), b"document")
    assert open_sealed(client, INFO_RESPONSE, RID, to_base64(sealed)) == b"document"
    changes = {
        "another request_id": (RID[:-1] + "1", sealed),
        "a changed tag": (RID, sealed[:-1] + bytes([sealed[-1] ^ 1])),
        "a changed enc": (RID, sealed[:1] + bytes([sealed[1] ^ 1]) + sealed[2:]),
        "cut short": (RID, sealed[:65 + 15]),
        "no enc": (RID, sealed[65:]),
    }
    for name, (rid, data) in changes.items():
        with pytest.raises(hpke.HpkeError):
            open_sealed(client, INFO_RESPONSE, rid, to_base64(data))
    other = hpke.generate_key_pair()
    with pytest.raises(hpke.HpkeError):
        open_sealed(other, INFO_RESPONSE, RID, to_base64(sealed))
    with pytest.raises(hpke.HpkeError):
        open_sealed(client, b"wasm-hypervisor/v1.1 error", RID, to_base64(sealed))


def test_v11_request_messages_are_two_of_one_context():
    """What the server does with them: one recipient context opens the module at sequence 0 and
    the invocation at 1; swapped, neither opens."""
    from hypervisor_client.protocol import INFO_REQUEST_V11, seal_request_v11
    server = hpke.generate_key_pair()
    client_pub = hpke.sec1(hpke.generate_key_pair().public_key())
    enc_wasm, enc_call = seal_request_v11(server.public_key(), client_pub, WASM, b'{"function_name":"f"}')
    assert len(enc_wasm) == 65 + len(WASM) + 16 and len(enc_call) == len(b'{"function_name":"f"}') + 16
    ctx = hpke.setup_recipient(enc_wasm[:65], server, INFO_REQUEST_V11)
    assert ctx.open(client_pub, enc_wasm[65:]) == WASM
    assert ctx.open(client_pub, enc_call) == b'{"function_name":"f"}'
    swapped = hpke.setup_recipient(enc_wasm[:65], server, INFO_REQUEST_V11)
    with pytest.raises(hpke.HpkeError):
        swapped.open(client_pub, enc_call)
