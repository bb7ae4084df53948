;; A cabi_realloc that traps, for `hypervisor run` tests.
(module
  (memory (export "memory") 1)
  (func (export "cabi_realloc") (param i32 i32 i32 i32) (result i32) unreachable)
  (func (export "f") (param i32 i32 i32) (result i32) (local.get 2))
)
