;; State an execution can change: a mutable global, a memory cell, a data segment and a table
;; slot, all set by instantiation (the start function runs first and bumps the global once more).
;; "bump" changes every one of them and returns what it found, so an execution that saw another's
;; changes would return something other than 1000000 + 0 + 65 ('A') + 7 = 1000072.
(module
  (memory 1)
  (global $g (mut i32) (i32.const 999999))
  (table 2 funcref)
  (func $seven (result i32) i32.const 7)
  (func $eight (result i32) i32.const 8)
  (elem (i32.const 0) $seven)
  (data (i32.const 100) "A")
  (type $ret_i32 (func (result i32)))
  (func $start global.get $g i32.const 1 i32.add global.set $g)
  (start $start)
  (func (export "bump") (result i32)
    (local $sum i32)
    ;; what this instance found
    global.get $g
    i32.const 200 i32.load i32.add
    i32.const 100 i32.load8_u i32.add
    i32.const 0 call_indirect (type $ret_i32) i32.add
    local.set $sum
    ;; and what it leaves behind (for nobody, if instances are fresh)
    global.get $g i32.const 5 i32.add global.set $g
    i32.const 200 i32.const 200 i32.load i32.const 1 i32.add i32.store
    i32.const 100 i32.const 90 i32.store8
    i32.const 0 ref.func $eight table.set 0
    local.get $sum)
  (elem declare func $eight))
