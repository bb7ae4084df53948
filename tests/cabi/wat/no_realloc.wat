;; A memory but no cabi_realloc: string and bytes arguments cannot be passed; results can.
(module
  (memory (export "memory") 1)
  (data (i32.const 16) "\20\00\00\00\02\00\00\00")
  (data (i32.const 32) "ok")
  (func (export "echo") (param i32 i32) (result i32) (i32.const 8))
  (func (export "ok") (result i32) (i32.const 16))
)
