"""HPKE (RFC 9180) composed from python3-cryptography's primitives, as the C library composes it
from OpenSSL's: ECDH on P-256, HKDF-SHA256 written over HMAC-SHA256, AES-GCM.

Python's cryptography 38 (Debian bookworm) has no HPKE, and the HPKE API of later releases takes
no associated data, which every message of this protocol has. So the RFC's sections 4 and 5 are
written out here: DHKEM(P-256, HKDF-SHA256) with DeriveKeyPair, the key schedule for the base and
psk modes, and contexts that seal and open any number of messages in sequence (protocol v1.1
seals the module and the invocation as messages 0 and 1 of one context). AES-128-GCM and the
export-only AEAD are here only because the RFC's P-256 vectors use them; the protocol uses
AES-256-GCM.
"""

from __future__ import annotations

import struct

from cryptography.exceptions import InvalidTag, UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives import hashes, hmac, serialization

KEM_P256_HKDF_SHA256 = 0x0010
KDF_HKDF_SHA256 = 0x0001
AEAD_AES_128_GCM = 0x0001
AEAD_AES_256_GCM = 0x0002
AEAD_EXPORT_ONLY = 0xFFFF

MODE_BASE = 0x00
MODE_PSK = 0x01

N_SECRET = 32  # DHKEM(P-256): Nsecret
N_ENC = 65  # Nenc = Npk: the SEC1 uncompressed point
N_SK = 32
N_H = 32  # HKDF-SHA256: Nh
N_N = 12  # AES-GCM nonce
N_T = 16  # AES-GCM tag
_AEAD_KEY_LEN = {AEAD_AES_128_GCM: 16, AEAD_AES_256_GCM: 32, AEAD_EXPORT_ONLY: 0}

# The order of the P-256 group (SEC 2): DeriveKeyPair keeps a candidate only below it.
_P256_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551

_KEM_SUITE_ID = b"KEM" + struct.pack(">H", KEM_P256_HKDF_SHA256)


class HpkeError(Exception):
    """A key, enc or ciphertext that is refused; the message says which, never any key material."""


def _hmac_sha256(key: bytes, data: bytes) -> bytes:
    h = hmac.HMAC(key, hashes.SHA256())
    h.update(data)
    return h.finalize()


def _extract(salt: bytes, ikm: bytes) -> bytes:
    # RFC 5869: an empty salt is Nh zero bytes (the same HMAC key once padded).
    return _hmac_sha256(salt or b"\x00" * N_H, ikm)


def _expand(prk: bytes, info: bytes, length: int) -> bytes:
    if length > 255 * N_H:
        raise HpkeError("HKDF-Expand: requested length too large")
    out = b""
    block = b""
    counter = 1
    while len(out) < length:
        block = _hmac_sha256(prk, block + info + bytes([counter]))
        out += block
        counter += 1
    return out[:length]


def labeled_extract(suite_id: bytes, salt: bytes, label: bytes, ikm: bytes) -> bytes:
    return _extract(salt, b"HPKE-v1" + suite_id + label + ikm)


def labeled_expand(suite_id: bytes, prk: bytes, label: bytes, info: bytes, length: int) -> bytes:
    return _expand(prk, struct.pack(">H", length) + b"HPKE-v1" + suite_id + label + info, length)


def _der_fills(data: bytes) -> bool:
    """Whether the outer DER SEQUENCE is exactly `data` (cryptography ignores trailing bytes; the C
    library, and so this client, refuses them: one key, one encoding)."""
    if len(data) < 2 or data[0] != 0x30:
        return False
    first = data[1]
    if first < 0x80:
        return 2 + first == len(data)
    n = first & 0x7F
    if n == 0 or n > 4 or len(data) < 2 + n:
        return False
    return 2 + n + int.from_bytes(data[2:2 + n], "big") == len(data)


def public_key_from_bytes(data: bytes) -> ec.EllipticCurvePublicKey:
    """A P-256 public key from its SEC1 uncompressed point, or from a DER SubjectPublicKeyInfo of a
    P-256 key (as docs/crypto.md, "Public keys and enc", reads them). cryptography refuses a point
    that is not on the curve."""
    try:
        if len(data) == N_ENC and data[0] == 0x04:
            return ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), data)
        if not _der_fills(data):
            raise HpkeError("not a P-256 public key")
        key = serialization.load_der_public_key(data)
    except (ValueError, TypeError, UnsupportedAlgorithm) as e:
        raise HpkeError("not a P-256 public key") from e
    if not isinstance(key, ec.EllipticCurvePublicKey) or not isinstance(key.curve, ec.SECP256R1):
        raise HpkeError("not a P-256 public key")
    return key


def sec1(public_key: ec.EllipticCurvePublicKey) -> bytes:
    """The 65-byte SEC1 uncompressed point: the key's identity in aad and key_id."""
    return public_key.public_bytes(serialization.Encoding.X962,
                                   serialization.PublicFormat.UncompressedPoint)


def generate_key_pair() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def derive_key_pair(ikm: bytes) -> ec.EllipticCurvePrivateKey:
    """RFC 9180 §7.1.3 DeriveKeyPair for P-256: rejection sampling of candidate scalars."""
    dkp_prk = labeled_extract(_KEM_SUITE_ID, b"", b"dkp_prk", ikm)
    for counter in range(256):
        candidate = bytearray(labeled_expand(_KEM_SUITE_ID, dkp_prk, b"candidate", bytes([counter]), N_SK))
        candidate[0] &= 0xFF  # P-256's bitmask
        sk = int.from_bytes(candidate, "big")
        if 0 < sk < _P256_ORDER:
            return ec.derive_private_key(sk, ec.SECP256R1())
    raise HpkeError("DeriveKeyPair: no valid candidate")


def private_key_bytes(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_numbers().private_value.to_bytes(N_SK, "big")


def _dh(sk: ec.EllipticCurvePrivateKey, pk: ec.EllipticCurvePublicKey) -> bytes:
    return sk.exchange(ec.ECDH(), pk)


def _extract_and_expand(dh: bytes, kem_context: bytes) -> bytes:
    eae_prk = labeled_extract(_KEM_SUITE_ID, b"", b"eae_prk", dh)
    return labeled_expand(_KEM_SUITE_ID, eae_prk, b"shared_secret", kem_context, N_SECRET)


def encap(pk_r: ec.EllipticCurvePublicKey, ephemeral: ec.EllipticCurvePrivateKey | None = None):
    """Returns (shared_secret, enc). `ephemeral` is for the test vectors; normally fresh."""
    sk_e = ephemeral if ephemeral is not None else generate_key_pair()
    enc = sec1(sk_e.public_key())
    shared = _extract_and_expand(_dh(sk_e, pk_r), enc + sec1(pk_r))
    return shared, enc


def decap(enc: bytes, sk_r: ec.EllipticCurvePrivateKey) -> bytes:
    if len(enc) != N_ENC or enc[0] != 0x04:
        raise HpkeError("enc is not a 65-byte uncompressed P-256 point")
    try:
        pk_e = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), enc)
    except ValueError as e:
        raise HpkeError("enc is not a point on P-256") from e
    return _extract_and_expand(_dh(sk_r, pk_e), enc + sec1(sk_r.public_key()))


def _suite_id(aead_id: int) -> bytes:
    return b"HPKE" + struct.pack(">HHH", KEM_P256_HKDF_SHA256, KDF_HKDF_SHA256, aead_id)


class Context:
    """An HPKE context (RFC 9180 §5.2): seal or open messages in order, each at the next sequence
    number. A failed open leaves the sequence number where it was."""

    def __init__(self, aead_id: int, key: bytes, base_nonce: bytes, exporter_secret: bytes,
                 key_schedule_context: bytes, secret: bytes):
        self.aead_id = aead_id
        self.key = key
        self.base_nonce = base_nonce
        self.exporter_secret = exporter_secret
        # Kept for the vector tests, which check every intermediate value.
        self.key_schedule_context = key_schedule_context
        self.secret = secret
        self.seq = 0
        self._aead = AESGCM(key) if aead_id != AEAD_EXPORT_ONLY else None

    def _nonce(self) -> bytes:
        if self.seq >= (1 << (8 * N_N)) - 1:
            raise HpkeError("the context's sequence number is exhausted")
        seq_bytes = self.seq.to_bytes(N_N, "big")
        return bytes(a ^ b for a, b in zip(self.base_nonce, seq_bytes))

    def seal(self, aad: bytes, pt: bytes) -> bytes:
        if self._aead is None:
            raise HpkeError("the export-only AEAD cannot seal")
        ct = self._aead.encrypt(self._nonce(), pt, aad)
        self.seq += 1
        return ct

    def open(self, aad: bytes, ct: bytes) -> bytes:
        if self._aead is None:
            raise HpkeError("the export-only AEAD cannot open")
        if len(ct) < N_T:
            raise HpkeError("ciphertext shorter than its tag")
        try:
            pt = self._aead.decrypt(self._nonce(), ct, aad)
        except InvalidTag as e:
            raise HpkeError("the ciphertext does not open (changed, or for another key, info or aad)") from e
        self.seq += 1
        return pt

    def export(self, exporter_context: bytes, length: int) -> bytes:
        return labeled_expand(_suite_id(self.aead_id), self.exporter_secret, b"sec", exporter_context, length)


def key_schedule(mode: int, aead_id: int, shared_secret: bytes, info: bytes,
                 psk: bytes = b"", psk_id: bytes = b"") -> Context:
    if aead_id not in _AEAD_KEY_LEN:
        raise HpkeError(f"AEAD {aead_id} is not supported")
    if mode == MODE_BASE and (psk or psk_id):
        raise HpkeError("base mode takes no psk")
    if mode == MODE_PSK and not (psk and psk_id):
        raise HpkeError("psk mode needs a psk and a psk_id")
    if mode not in (MODE_BASE, MODE_PSK):
        raise HpkeError(f"mode {mode} is not supported")
    sid = _suite_id(aead_id)
    psk_id_hash = labeled_extract(sid, b"", b"psk_id_hash", psk_id)
    info_hash = labeled_extract(sid, b"", b"info_hash", info)
    ksc = bytes([mode]) + psk_id_hash + info_hash
    secret = labeled_extract(sid, shared_secret, b"secret", psk)
    nk = _AEAD_KEY_LEN[aead_id]
    key = labeled_expand(sid, secret, b"key", ksc, nk) if nk else b""
    base_nonce = labeled_expand(sid, secret, b"base_nonce", ksc, N_N) if nk else b""
    exporter_secret = labeled_expand(sid, secret, b"exp", ksc, N_H)
    return Context(aead_id, key, base_nonce, exporter_secret, ksc, secret)


def setup_sender(pk_r: ec.EllipticCurvePublicKey, info: bytes, aead_id: int = AEAD_AES_256_GCM,
                 mode: int = MODE_BASE, psk: bytes = b"", psk_id: bytes = b"",
                 ephemeral: ec.EllipticCurvePrivateKey | None = None):
    """SetupBaseS / SetupPSKS: returns (enc, context)."""
    shared, enc = encap(pk_r, ephemeral)
    return enc, key_schedule(mode, aead_id, shared, info, psk, psk_id)


def setup_recipient(enc: bytes, sk_r: ec.EllipticCurvePrivateKey, info: bytes,
                    aead_id: int = AEAD_AES_256_GCM, mode: int = MODE_BASE,
                    psk: bytes = b"", psk_id: bytes = b"") -> Context:
    """SetupBaseR / SetupPSKR."""
    return key_schedule(mode, aead_id, decap(enc, sk_r), info, psk, psk_id)


def seal_base(pk_r: ec.EllipticCurvePublicKey, info: bytes, aad: bytes, pt: bytes) -> bytes:
    """Single-shot SealBase with the protocol's suite: enc || ct."""
    enc, ctx = setup_sender(pk_r, info)
    return enc + ctx.seal(aad, pt)


def open_base(sk_r: ec.EllipticCurvePrivateKey, info: bytes, aad: bytes, sealed: bytes) -> bytes:
    """Single-shot OpenBase of enc || ct with the protocol's suite."""
    if len(sealed) < N_ENC + N_T:
        raise HpkeError("sealed message too short")
    return setup_recipient(sealed[:N_ENC], sk_r, info).open(aad, sealed[N_ENC:])
