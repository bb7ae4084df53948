"""No server: typed values, their wire forms, canonical argument bytes and the three commitments
against the worked examples of docs/crypto.md (computed there independently of any client)."""

from __future__ import annotations

import json
import math
import struct

import pytest

from hypervisor_client import (ArgumentError, Value, arguments_commitment, binary, canonical_arguments, f32, f64, i32,
                               i64, key_id_of, program_commitment, result_commitment, string)
from hypervisor_client.protocol import wasi_canonical_values
from hypervisor_client.values import (normalize, arguments_json, invocation_json, parse_result_value, wasi_invocation_json,
                                      wire_value)

NONCE = bytes(range(32))
EMPTY_MODULE = bytes.fromhex("0061736d01000000")
GRUSSE = "Grüße, 世界"


def test_worked_example_v1():
    args = [i32(42), i64(-2), f32(1.5), f64(0.1)]
    canonical = canonical_arguments(args)
    assert canonical.hex() == "7f2a000000" "7efeffffffffffffff" "7d0000c03f" "7c9a9999999999b93f"
    assert len(canonical) == 28
    assert program_commitment(NONCE, EMPTY_MODULE) == "0e73d9629cc804277c0701f4b618a425a4e64f841b2322c2c812e0e14a97806d"
    assert arguments_commitment(NONCE, canonical) == "1798dd89f0dae35155d346eec86faa62a922f43e1aa9335b0869ef5b41196dc5"
    assert arguments_commitment(NONCE, canonical_arguments([])) == \
        "2a85881a2017b4d984d24faf1f873f36f738925f9c44cfb7634430d74795a811"


def test_worked_example_result_document():
    doc = ('{"request_id":"123e4567-e89b-42d3-a456-426614174000","function_name":"add","results":[{"type":"i32",'
           '"value":84}],"program_sha256":"93a44bbb96c751218e4c00d479e4c14358122a389acca16205b1e4d0dc5f9476",'
           '"nonce":"000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"}').encode()
    assert len(doc) == 272
    assert result_commitment(doc) == "b4f9aa305a4a441b09f09e534be0a0285a19601e7ed10f9a8b8714d36e876ea7"


def test_worked_example_key_id_of_the_generator():
    g = bytes.fromhex("046b17d1f2e12c4247f8bce6e563a440f277037d812deb33a0f4a13945d898c296"
                      "4fe342e2fe1a7f9b8ee7eb4a7c0f9e162bce33576b315ececbb6406837bf51f5")
    assert key_id_of(g) == "698bea63dc44a344"


@pytest.mark.parametrize("args,hex_bytes,commitment", [
    ([string(GRUSSE)], "730f000000000000004772c3bcc39f652c20e4b896e7958c",
     "202bbfff0ccac1b3bfd8331fc3eafca15a08fc14df125d7f5d168b22e46b1dd3"),
    ([binary(b"\x00\x01\xfe\xff")], "6204000000000000000001feff",
     "2af585b1700aad1dd188828331d380172d8c632329809a94b0ebad21d76d48ca"),
    ([i32(42), string(GRUSSE), binary(b"\x00\x01\xfe\xff")],
     "7f2a000000" "730f000000000000004772c3bcc39f652c20e4b896e7958c" "6204000000000000000001feff",
     "afb4c4c123fc078aa9d10dd57b8b6da7ecc759a118897e51e06a398bde5fbf85"),
    ([string("")], "730000000000000000", "3f29808f4a1daad6ba566f944c31e6aa6bdb38947b8944ddf625a3efa5c27bcd"),
    ([binary(b"")], "620000000000000000", "950dbb4891b04230571e1fdbb53bdb655dc9336fc5ec588ed44df2c34a1c2291"),
], ids=["string", "bytes", "i32-string-bytes", "empty-string", "empty-bytes"])
def test_worked_examples_v11(args, hex_bytes, commitment):
    assert canonical_arguments(args).hex() == hex_bytes
    assert arguments_commitment(NONCE, canonical_arguments(args)) == commitment


@pytest.mark.parametrize("function,value,commitment,length", [
    ("greet", '{"type":"string","value":"Grüße, 世界"}', "9e82d9d101ebe09b5f8ea7e8492cfb2140168e8f50c2ed5047ae88979b920422", 292),
    ("digest", '{"type":"bytes","value":"AAH+/w=="}', "87347b83ff389ab6f1cfaec0f2ce2c2434279b9e3d06097c2120a6197e742fa0", 285),
])
def test_worked_example_v11_documents(function, value, commitment, length):
    doc = (f'{{"request_id":"123e4567-e89b-42d3-a456-426614174000","function_name":"{function}","results":[{value}],'
           '"program_sha256":"93a44bbb96c751218e4c00d479e4c14358122a389acca16205b1e4d0dc5f9476",'
           '"nonce":"000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"}').encode()
    assert len(doc) == length
    assert result_commitment(doc) == commitment


def test_worked_example_invocation_document():
    assert invocation_json("greet", [i32(42), string(GRUSSE), binary(b"\x00\x01\xfe\xff")], ["string"]) == \
        ('{"function_name":"greet","arguments":[{"type":"i32","value":42},{"type":"string","value":"Grüße, 世界"},'
         '{"type":"bytes","value":"AAH+/w=="}],"results":["string"]}')


def test_worked_example_wasi_command():
    values = wasi_canonical_values(["wc", "-l"], b"a b\n")
    assert canonical_arguments(values).hex() == \
        "730200000000000000" "7763" "730200000000000000" "2d6c" "620400000000000000" "6120620a"
    assert arguments_commitment(NONCE, canonical_arguments(values)) == \
        "90ae5bd9cf554c18b71518a430a3354e0bfb9f2e600fd82527e8ff153a300456"
    doc = json.loads(wasi_invocation_json(["wc", "-l"], b"a b\n"))
    assert doc == {"function_name": "_start", "argv": ["wc", "-l"], "stdin": "YSBiCg=="}


def test_worked_example_wasi_document():
    doc = ('{"request_id":"123e4567-e89b-42d3-a456-426614174000","function_name":"_start","exit_code":3,'
           '"stdout":"aGVsbG8K","stderr":"",'
           '"program_sha256":"93a44bbb96c751218e4c00d479e4c14358122a389acca16205b1e4d0dc5f9476",'
           '"nonce":"000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"}').encode()
    assert len(doc) == 283
    assert result_commitment(doc) == "c669571dea9b6c077023981dd97b3bc36365d6fc05075fcea667c53f44568037"


def test_nan_bits_committed():
    """docs/crypto.md: "nan" is the positive quiet NaN, "-nan" the same with the sign bit."""
    assert canonical_arguments([f32(math.nan)]).hex() == "7d" + struct.pack("<I", 0x7FC00000).hex()
    assert canonical_arguments([f64(math.nan)]).hex() == "7c" + struct.pack("<Q", 0x7FF8000000000000).hex()
    neg = math.copysign(math.nan, -1.0)
    assert canonical_arguments([f32(neg)]).hex() == "7d" + struct.pack("<I", 0xFFC00000).hex()
    assert canonical_arguments([f64(neg)]).hex() == "7c" + struct.pack("<Q", 0xFFF8000000000000).hex()
    assert wire_value(f64(math.nan)) == "nan" and wire_value(f64(neg)) == "-nan"


def test_negative_zero_and_infinities():
    assert canonical_arguments([f64(-0.0)]).hex() == "7c0000000000000080"
    assert canonical_arguments([f32(-0.0)]).hex() == "7d00000080"
    assert json.dumps(arguments_json([f64(-0.0), f32(math.inf), f64(-math.inf)])) == \
        '[{"type": "f64", "value": -0.0}, {"type": "f32", "value": "inf"}, {"type": "f64", "value": "-inf"}]'


def test_upper_halves_are_the_bit_pattern():
    assert canonical_arguments([i32(4294967295)]) == canonical_arguments([i32(-1)])
    assert canonical_arguments([i64(2**64 - 1)]) == canonical_arguments([i64(-1)])
    assert canonical_arguments([i64(-(2**63))]).hex() == "7e0000000000000080"


def test_i64_wire_form_beyond_2_53_is_a_string():
    assert wire_value(i64(2**53 - 1)) == 2**53 - 1
    assert wire_value(i64(2**53)) == str(2**53)
    assert wire_value(i64(-(2**53) - 1)) == str(-(2**53) - 1)


def test_f32_rounds_to_binary32_and_overflows_to_inf():
    assert f32(0.1).value == struct.unpack("<f", struct.pack("<f", 0.1))[0]
    assert f32(1e39).value == math.inf and f32(-1e39).value == -math.inf
    assert f32(3.4028235e38).value == 3.4028234663852886e38


@pytest.mark.parametrize("bad", [
    lambda: i32(2**32), lambda: i32(-(2**31) - 1), lambda: i32(1.5), lambda: i32(True),
    lambda: i64(2**64), lambda: i64(-(2**63) - 1), lambda: f64("1"), lambda: string("\ud800"),
    lambda: binary("text"), lambda: normalize(Value("v128", 0)), lambda: normalize(7),
])
def test_values_that_cannot_be_sent_are_refused(bad):
    with pytest.raises(ArgumentError):
        bad()


def test_plain_str_and_bytes_are_typed():
    from hypervisor_client.values import normalize_all
    assert normalize_all(["x", b"y"]) == [string("x"), binary(b"y")]
    with pytest.raises(ArgumentError):
        normalize_all([5])


def test_values_compare_bit_for_bit():
    assert f64(math.nan) == f64(math.nan)
    assert f64(-0.0) != f64(0.0)
    assert f32(1.5) != f64(1.5)
    assert i64(5) == i64(5) and i64(5) != i32(5)


@pytest.mark.parametrize("r,want", [
    ({"type": "i32", "value": -5}, i32(-5)),
    ({"type": "i64", "value": "9007199254740993"}, i64(9007199254740993)),
    ({"type": "i64", "value": 9007199254740993}, i64(9007199254740993)),
    ({"type": "f32", "value": "nan"}, f32(math.nan)),
    ({"type": "f64", "value": "-inf"}, f64(-math.inf)),
    ({"type": "f64", "value": -0.0}, f64(-0.0)),
    ({"type": "f64", "value": 3}, f64(3.0)),
    ({"type": "string", "value": GRUSSE}, string(GRUSSE)),
    ({"type": "bytes", "value": "AAH+/w=="}, binary(b"\x00\x01\xfe\xff")),
    ({"type": "bytes", "value": "AAH-_w"}, binary(b"\x00\x01\xfe\xff")),
])
def test_result_values_read(r, want):
    assert parse_result_value(r, "r") == want


@pytest.mark.parametrize("r", [
    {"type": "i32", "value": 2**31}, {"type": "i32", "value": 1.0}, {"type": "i32", "value": True},
    {"type": "i64", "value": str(2**63)}, {"type": "i64", "value": "0x10"}, {"type": "i64", "value": "01"},
    {"type": "f32", "value": 0.1}, {"type": "f64", "value": "NaN"}, {"type": "f64", "value": 1e400},
    {"type": "string", "value": 5}, {"type": "string", "value": "\ud800"},
    {"type": "bytes", "value": "AAH+/w="}, {"type": "bytes", "value": "AAH+_w=="}, {"type": "bytes", "value": "AQ=x"},
    {"type": "v128", "value": 0}, [1], {"value": 1},
])
def test_bad_result_values_are_refused(r):
    with pytest.raises(ValueError):
        parse_result_value(r, "r")
