;; Exports of every numeric type, and the failures a request can meet at run time.
(module
  (memory 1)
  (func (export "add") (param i32 i32) (result i32)
    local.get 0 local.get 1 i32.add)
  (func (export "add64") (param i64 i64) (result i64)
    local.get 0 local.get 1 i64.add)
  (func (export "mulf") (param f32 f32) (result f32)
    local.get 0 local.get 1 f32.mul)
  (func (export "divf") (param f64 f64) (result f64)
    local.get 0 local.get 1 f64.div)
  (func (export "pair") (param i32) (result i32 i64)
    local.get 0 local.get 0 i64.extend_i32_s i64.const 1 i64.add)
  (func (export "answer") (result i32) i32.const 42)
  (func (export "div") (param i32 i32) (result i32)
    local.get 0 local.get 1 i32.div_s)
  (func (export "boom") unreachable)
  ;; Counts down from n: about 4 instructions of gas per iteration.
  (func (export "count") (param i64) (result i64)
    (loop $l
      local.get 0 i64.const 1 i64.sub local.tee 0
      i64.const 0 i64.ne br_if $l)
    local.get 0)
  (func (export "spin") (loop $l br $l))
  ;; Grows memory by n pages; traps when the grow is refused.
  (func (export "grow") (param i32) (result i32)
    local.get 0 memory.grow
    local.tee 0 i32.const -1 i32.eq if unreachable end
    local.get 0)
  (func $deep (export "deep") (param i32) (result i32)
    local.get 0 i32.const 1 i32.add call $deep)
  (func (export "takes_ref") (param funcref) (result i32) i32.const 0)
  (global (export "g") i32 (i32.const 7)))
