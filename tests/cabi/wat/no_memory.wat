;; cabi_realloc, but the memory is exported as "mem", not "memory"; numbers still work.
(module
  (memory (export "mem") 1)
  (func (export "cabi_realloc") (param i32 i32 i32 i32) (result i32) (i32.const 64))
  (func (export "echo") (param i32 i32) (result i32) (i32.const 8))
  (func (export "ret") (result i32) (i32.const 8))
  (func (export "add") (param i32 i32) (result i32) (i32.add (local.get 0) (local.get 1)))
)
