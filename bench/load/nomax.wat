;; Like small.wat but its memory has no declared maximum (as compilers emit by default), so every
;; instance reserves the store's whole cap (64 MiB) of address space: the mmap path.
(module
  (memory 1)
  (global $calls (mut i32) (i32.const 0))
  (data (i32.const 16) "wasm-hypervisor")
  (func (export "add") (param i32 i32) (result i32)
    global.get $calls i32.const 1 i32.add global.set $calls
    local.get 0 local.get 1 i32.add i32.const 16 i32.load8_u i32.add))
