;; br_if out of a function whose result is one v128 (two cells), the value a local: on the path
;; where the branch is not taken the engine returned the stack cells' old contents instead of the
;; local (code.c op_br_if materialized the value only for several results). $g leaves garbage in
;; those cells first. Found by the differential check (seed 458).
(module
  (func $g (param i64 i64 i64 i64 i64 i64) (result i64) (local.get 5))
  (func $h (param v128 i32) (result v128)
    local.get 0
    local.get 1
    br_if 0)
  (func (export "not_taken") (result i64)
    (drop (call $g (i64.const 1) (i64.const 2) (i64.const 3) (i64.const 4) (i64.const 5) (i64.const 6)))
    (i64x2.extract_lane 1 (call $h (v128.const i64x2 7 8) (i32.const 0))))
  (func (export "taken") (result i64)
    (drop (call $g (i64.const 1) (i64.const 2) (i64.const 3) (i64.const 4) (i64.const 5) (i64.const 6)))
    (i64x2.extract_lane 1 (call $h (v128.const i64x2 7 8) (i32.const 1)))))
