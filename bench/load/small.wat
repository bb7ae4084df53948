;; The load benchmark's small module: one page of memory with a data segment, a mutable global,
;; and an export that reads and writes both (so an instance has real state to set up).
(module
  (memory 1 1)
  (global $calls (mut i32) (i32.const 0))
  (data (i32.const 16) "wasm-hypervisor")
  (func (export "add") (param i32 i32) (result i32)
    local.get 0 local.get 1 i32.add)
  ;; Bumps the global and a counter in memory; returns a + b + the byte at 16 ('w' = 119).
  (func (export "work") (param i32 i32) (result i32)
    global.get $calls i32.const 1 i32.add global.set $calls
    i32.const 0 i32.const 0 i32.load i32.const 1 i32.add i32.store
    local.get 0 local.get 1 i32.add i32.const 16 i32.load8_u i32.add))
