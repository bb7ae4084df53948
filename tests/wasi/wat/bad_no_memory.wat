;; Refused: fd_write takes pointers, but the module exports no memory "memory".
(module
  (import "wasi_snapshot_preview1" "fd_write" (func (param i32 i32 i32 i32) (result i32)))
  (memory (export "mem") 1)
  (func (export "_start"))
)
