;; v128 values through the public API: arguments and results of hvw_func_call, a host function's
;; parameters and results, host globals and hvw_global_get.
(module
  (import "env" "rotate" (func $rotate (param v128 i32) (result v128))) ;; the host rotates i32 lanes
  (import "env" "seed" (global $seed v128))
  (memory (export "mem") 1)
  (global $g (export "g") (mut v128) (v128.const i32x4 1 2 3 4))
  (func (export "add") (param v128 v128) (result v128) (i32x4.add (local.get 0) (local.get 1)))
  ;; (a, x, b) -> (b, x + 1, a): v128 values beside scalars, in and out
  (func (export "mixed") (param v128 i64 v128) (result v128 i64 v128)
    (local.get 2) (i64.add (local.get 1) (i64.const 1)) (local.get 0))
  ;; lane order: byte 0 of the value is lane 0 of i8x16, and the first byte memory gets
  (func (export "byte0") (param v128) (result i32) (i8x16.extract_lane_u 0 (local.get 0)))
  (func (export "lane1") (param v128) (result i32) (i32x4.extract_lane 1 (local.get 0)))
  (func (export "store") (param i32 v128) (v128.store (local.get 0) (local.get 1)))
  (func (export "via_host") (param v128 i32) (result v128) (call $rotate (local.get 0) (local.get 1)))
  (func (export "seed") (result v128) (global.get $seed))
  (func (export "set_g") (param v128) (global.set $g (local.get 0)))
  (export "rotate" (func $rotate))
)
