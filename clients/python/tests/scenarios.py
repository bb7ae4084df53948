"""The end-to-end scenario table every client runs (clients/scenarios.json, shared with
clients/js/test/scenarios.js), decoded into typed values. The file's "about" member describes the
encoding of values JSON cannot hold (NaN, i64 beyond 2^53, 1 MiB of bytes)."""

from __future__ import annotations

import json
import math
import pathlib
import re
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional

from hypervisor_client import Value, binary, f32, f64, i32, i64, string
from hypervisor_client.encoding import from_base64

SCENARIO_FILE = pathlib.Path(__file__).resolve().parents[2] / "scenarios.json"

_FLOATS = {"nan": math.nan, "inf": math.inf, "-inf": -math.inf, "-0": -0.0}
_OPTIONS = {"protocol", "results", "gas_limit", "timeout_seconds"}


def decode_bytes(spec: Dict[str, Any]) -> bytes:
    if isinstance(spec.get("base64"), str):
        return from_base64(spec["base64"])
    count = spec["count"]
    if spec.get("fill") == "counter":
        return bytes(i & 0xFF for i in range(count))
    if spec.get("fill") == "xorshift32":
        out = bytearray(count)
        x = spec["seed"] & 0xFFFFFFFF
        for i in range(count):
            x ^= (x << 13) & 0xFFFFFFFF
            x ^= x >> 17
            x ^= (x << 5) & 0xFFFFFFFF
            out[i] = x & 0xFF
        return bytes(out)
    raise ValueError(f"scenarios.json: unknown bytes fill {spec.get('fill')!r}")


def decode_value(pair) -> Value:
    t, v = pair
    if t == "i32":
        return i32(v)
    if t == "i64":
        return i64(int(v))
    if t in ("f32", "f64"):
        x = _FLOATS[v] if isinstance(v, str) else v
        return f32(x) if t == "f32" else f64(x)
    if t == "string":
        return string(v)
    if t == "bytes":
        return binary(decode_bytes(v))
    raise ValueError(f"scenarios.json: unknown type {t!r}")


@dataclass
class ExpectedError:
    http_status: int
    error_code: str
    detail: "re.Pattern[str]"
    clear_hides: Optional[str] = None


@dataclass
class Scenario:
    name: str
    module: str
    function: str
    args: List[Value]
    options: Dict[str, Any] = field(default_factory=dict)
    results: Optional[List[Value]] = None
    error: Optional[ExpectedError] = None


def load() -> List[Scenario]:
    rows = json.loads(SCENARIO_FILE.read_text(encoding="utf-8"))["scenarios"]
    out = []
    for row in rows:
        options = dict(row.get("options", {}))
        unknown = set(options) - _OPTIONS
        if unknown:
            raise ValueError(f"scenarios.json: {row['name']}: unknown options {sorted(unknown)}")
        err = row.get("error")
        out.append(Scenario(
            name=row["name"], module=row["module"], function=row["function"],
            args=[decode_value(a) for a in row["args"]], options=options,
            results=[decode_value(r) for r in row["results"]] if "results" in row else None,
            error=ExpectedError(err["http_status"], err["error_code"], re.compile(err["detail"]),
                                err.get("clear_hides")) if err else None))
    return out


SCENARIOS = load()
