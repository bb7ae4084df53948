;; Refused: a name that is not a preview1 function (fd_write misspelt).
(module
  (import "wasi_snapshot_preview1" "fd_wrte" (func (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "_start"))
)
