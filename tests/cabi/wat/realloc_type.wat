;; A cabi_realloc of the wrong type (three parameters).
(module
  (memory (export "memory") 1)
  (func (export "cabi_realloc") (param i32 i32 i32) (result i32) (i32.const 64))
  (func (export "echo") (param i32 i32) (result i32) (i32.const 8))
)
