"""Just enough of the WebAssembly binary format to find an export's core signature, so the CLI can
type its arguments as hvctl does (hvctl asks the engine; this reads the type, import, function
and export sections). Every count and size is bounded by the bytes that are there."""

from __future__ import annotations

from typing import List, Optional, Tuple

VALTYPES = {0x7F: "i32", 0x7E: "i64", 0x7D: "f32", 0x7C: "f64", 0x7B: "v128", 0x70: "funcref", 0x6F: "externref"}


class WasmFormatError(ValueError):
    """The module does not decode far enough to read its exports."""


class _Reader:
    def __init__(self, data: bytes, pos: int = 0, end: Optional[int] = None):
        self.data = data
        self.pos = pos
        self.end = len(data) if end is None else end

    def byte(self) -> int:
        if self.pos >= self.end:
            raise WasmFormatError("unexpected end of the module")
        b = self.data[self.pos]
        self.pos += 1
        return b

    def u32(self) -> int:
        result = shift = 0
        for _ in range(5):
            b = self.byte()
            result |= (b & 0x7F) << shift
            if not b & 0x80:
                if result > 0xFFFFFFFF:
                    raise WasmFormatError("LEB128 value out of range")
                return result
            shift += 7
        raise WasmFormatError("LEB128 value too long")

    def take(self, n: int) -> bytes:
        if n > self.end - self.pos:
            raise WasmFormatError("unexpected end of the module")
        out = self.data[self.pos:self.pos + n]
        self.pos += n
        return out

    def name(self) -> str:
        raw = self.take(self.u32())
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError as e:
            raise WasmFormatError("a name is not UTF-8") from e

    def count(self, min_bytes_each: int = 1) -> int:
        n = self.u32()
        if n * min_bytes_each > self.end - self.pos:
            raise WasmFormatError("a count larger than its section")
        return n


def _skip_limits(r: _Reader) -> None:
    flags = r.byte()
    r.u32()
    if flags & 1:
        r.u32()


def export_signature(module: bytes, name: str) -> Tuple[List[str], List[str]]:
    """The (params, results) of the exported function `name`, as type names. Raises
    WasmFormatError for a module that does not decode and KeyError when there is no such
    exported function."""
    if module[:4] != b"\x00asm" or module[4:8] != b"\x01\x00\x00\x00":
        raise WasmFormatError("not a WebAssembly binary module (version 1)")
    r = _Reader(module, 8)
    types: List[Tuple[List[str], List[str]]] = []
    func_types: List[int] = []  # imported functions first, then the module's own
    exports = {}
    while r.pos < r.end:
        sid = r.byte()
        size = r.u32()
        s = _Reader(module, r.pos, r.pos + size)
        if s.end > r.end:
            raise WasmFormatError("a section runs past the end of the module")
        r.pos = s.end
        if sid == 1:
            for _ in range(s.count()):
                if s.byte() != 0x60:
                    raise WasmFormatError("a type that is not a function type")
                sig = []
                for _part in range(2):
                    sig.append([VALTYPES.get(s.byte(), "unknown") for _ in range(s.count())])
                types.append((sig[0], sig[1]))
        elif sid == 2:
            for _ in range(s.count(3)):
                s.name()
                s.name()
                kind = s.byte()
                if kind == 0:
                    func_types.append(s.u32())
                elif kind == 1:
                    s.byte()
                    _skip_limits(s)
                elif kind == 2:
                    _skip_limits(s)
                elif kind == 3:
                    s.byte()
                    s.byte()
                else:
                    raise WasmFormatError("an import of an unknown kind")
        elif sid == 3:
            func_types.extend(s.u32() for _ in range(s.count()))
        elif sid == 7:
            for _ in range(s.count(3)):
                export_name = s.name()
                kind = s.byte()
                index = s.u32()
                if kind == 0:
                    exports[export_name] = index
    if name not in exports:
        raise KeyError(name)
    index = exports[name]
    if index >= len(func_types) or func_types[index] >= len(types):
        raise WasmFormatError(f"the export {name!r} names a function or type that does not exist")
    return types[func_types[index]]
