;; Refused: a preview1 name imported as a memory.
(module
  (import "wasi_snapshot_preview1" "fd_write" (memory 1))
  (func (export "_start"))
)
