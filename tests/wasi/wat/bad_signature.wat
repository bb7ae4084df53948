;; Refused: clock_time_get with an i32 precision where preview1 has an i64.
(module
  (import "wasi_snapshot_preview1" "clock_time_get" (func (param i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "_start"))
)
