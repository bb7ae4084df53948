;; Gas, interruption and the memory cap.
(module
  (memory 1)
  ;; gas: loop(1) + body(8) on entry, 8 per further iteration, 1 after: 8n + 2 for n >= 1
  (func (export "count") (param i32) (result i32) (local i32)
    loop
      local.get 1 i32.const 1 i32.add local.set 1
      local.get 1 local.get 0 i32.lt_u
      br_if 0
    end
    local.get 1)
  (func (export "spin") (loop (br 0)))
  (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0)))
  (func (export "size") (result i32) (memory.size))
  (func (export "grow_then_trap") (param i32) (result i32)
    (drop (memory.grow (local.get 0)))
    (i32.load (i32.const 0x7FFFFFF0)))
  (func (export "fill") (param i32 i32 i32) (memory.fill (local.get 0) (local.get 1) (local.get 2)))
  (func (export "copy") (param i32 i32 i32) (memory.copy (local.get 0) (local.get 1) (local.get 2)))
  (func (export "init") (param i32 i32 i32) (memory.init $hello (local.get 0) (local.get 1) (local.get 2)))
  (func (export "drop_hello") (data.drop $hello))
  (func (export "load8") (param i32) (result i32) (i32.load8_u (local.get 0)))
  (func $deep (export "deep") (param i32) (result i32)
    (local i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64)
    (if (result i32) (local.get 0)
      (then (call $deep (i32.sub (local.get 0) (i32.const 1))))
      (else (i32.const 0))))
  (data $hello "hello")
)
