;; Refused: an import from a module other than wasi_snapshot_preview1.
(module
  (import "wasi_snapshot_preview1" "sched_yield" (func (result i32)))
  (import "env" "now" (func (result i64)))
  (memory (export "memory") 1)
  (func (export "_start"))
)
