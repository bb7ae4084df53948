;; A cabi_realloc that returns i64 instead of i32.
(module
  (memory (export "memory") 1)
  (func (export "cabi_realloc") (param i32 i32 i32 i32) (result i64) (i64.const 64))
  (func (export "echo") (param i32 i32) (result i32) (i32.const 8))
)
