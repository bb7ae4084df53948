"""A Python client of the WASM Hypervisor wire protocol, v1 and v1.1 (docs/protocol.md).

It seals a WebAssembly module (and, in v1.1, the function name and arguments) to the server's HPKE
key, sends it, opens the sealed result and checks all three commitments before it returns
anything. HPKE is composed from python3-cryptography's primitives (hpke.py).
"""

from .client import ExecuteResult, HypervisorClient, Reply, urllib_transport
from .errors import ArgumentError, HypervisorError, TransportError, VerificationError
from .protocol import (arguments_commitment, check_result, key_id_of, program_commitment,
                       result_commitment)
from .values import Value, binary, canonical_arguments, f32, f64, i32, i64, string

__version__ = "0.1.0"

__all__ = [
    "HypervisorClient", "ExecuteResult", "Reply", "urllib_transport",
    "HypervisorError", "VerificationError", "TransportError", "ArgumentError",
    "Value", "i32", "i64", "f32", "f64", "string", "binary",
    "canonical_arguments", "program_commitment", "arguments_commitment", "result_commitment",
    "key_id_of", "check_result", "__version__",
]
