"""HPKE composed from python3-cryptography, proven byte for byte by the RFC 9180 P-256 vectors
(HV_TESTDATA/hpke/hpke-p256-vectors.json: base and psk modes, AES-128-GCM, AES-256-GCM and
export-only): derived key pairs, enc, shared secret, every key-schedule value, all 257 nonces and
ciphertexts of each AEAD vector sealed on one context and opened on another, and every export.
Skipped with one line when the vectors are absent."""

from __future__ import annotations

import json

import pytest

from hypervisor_client import hpke
from conftest import TESTDATA

VECTOR_FILE = TESTDATA / "hpke" / "hpke-p256-vectors.json"

if not VECTOR_FILE.exists():
    pytest.skip(f"RFC 9180 vectors not found: no {VECTOR_FILE} (set HV_TESTDATA to a folder with hpke/)",
                allow_module_level=True)

VECTORS = json.loads(VECTOR_FILE.read_text())
H = bytes.fromhex


def _id(v):
    return f"mode{v['mode']}-aead{v['aead_id']}"


def test_the_file_has_the_six_p256_vectors():
    assert len(VECTORS) == 6
    assert {(v["mode"], v["aead_id"]) for v in VECTORS} == {(m, a) for m in (0, 1) for a in (1, 2, 0xFFFF)}
    assert all(v["kem_id"] == 0x10 and v["kdf_id"] == 1 for v in VECTORS)


@pytest.mark.parametrize("v", VECTORS, ids=_id)
def test_vector(v):
    sk_e = hpke.derive_key_pair(H(v["ikmE"]))
    sk_r = hpke.derive_key_pair(H(v["ikmR"]))
    assert hpke.private_key_bytes(sk_e) == H(v["skEm"])
    assert hpke.private_key_bytes(sk_r) == H(v["skRm"])
    assert hpke.sec1(sk_e.public_key()) == H(v["pkEm"])
    assert hpke.sec1(sk_r.public_key()) == H(v["pkRm"])

    psk, psk_id = H(v.get("psk", "")), H(v.get("psk_id", ""))
    shared, enc = hpke.encap(sk_r.public_key(), ephemeral=sk_e)
    assert enc == H(v["enc"])
    assert shared == H(v["shared_secret"])
    assert hpke.decap(enc, sk_r) == shared

    sender = hpke.key_schedule(v["mode"], v["aead_id"], shared, H(v["info"]), psk, psk_id)
    assert sender.key_schedule_context == H(v["key_schedule_context"])
    assert sender.secret == H(v["secret"])
    assert sender.key == H(v["key"])
    assert sender.base_nonce == H(v["base_nonce"])
    assert sender.exporter_secret == H(v["exporter_secret"])

    recipient = hpke.setup_recipient(enc, sk_r, H(v["info"]), v["aead_id"], v["mode"], psk, psk_id)
    for seq, e in enumerate(v["encryptions"]):
        assert sender.seq == seq
        assert sender._nonce() == H(e["nonce"]), f"nonce {seq}"
        assert sender.seal(H(e["aad"]), H(e["pt"])) == H(e["ct"]), f"ciphertext {seq}"
        assert recipient.open(H(e["aad"]), H(e["ct"])) == H(e["pt"]), f"open {seq}"
    assert len(v["encryptions"]) in (0, 257)

    if v["encryptions"]:
        # A fresh recipient opens them in order, and refuses each one offered a sequence number
        # early, without moving on (the multi-message contexts of protocol v1.1 rely on this).
        fresh = hpke.setup_recipient(enc, sk_r, H(v["info"]), v["aead_id"], v["mode"], psk, psk_id)
        for seq, e in enumerate(v["encryptions"]):
            if seq + 1 < len(v["encryptions"]):
                ahead = v["encryptions"][seq + 1]
                with pytest.raises(hpke.HpkeError):
                    fresh.open(H(ahead["aad"]), H(ahead["ct"]))
                assert fresh.seq == seq
            assert fresh.open(H(e["aad"]), H(e["ct"])) == H(e["pt"])
    else:
        with pytest.raises(hpke.HpkeError):
            sender.seal(b"", b"export-only")

    for x in v["exports"]:
        assert sender.export(H(x["exporter_context"]), x["L"]) == H(x["exported_value"])
        assert recipient.export(H(x["exporter_context"]), x["L"]) == H(x["exported_value"])
