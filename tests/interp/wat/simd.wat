;; SIMD inside WebAssembly: v128 values through constants, memory, globals, locals, select, blocks
;; and calls, and lane arithmetic. The exports take and return scalars (simd_api.wat passes v128
;; values through the API).
(module
  (memory 1)
  (data (i32.const 16) "\01\02\03\04\05\06\07\08\09\0a\0b\0c\0d\0e\0f\10")
  (global $g (mut v128) (v128.const i32x4 1 2 3 4))

  ;; i32x4: lane 2 of splat(a) + (10 20 30 40), with lane 3 replaced by b: (a + 30) and b
  (func (export "i32x4_add") (param i32 i32) (result i32)
    (i32x4.extract_lane 2
      (i32x4.replace_lane 3 (i32x4.add (i32x4.splat (local.get 0)) (v128.const i32x4 10 20 30 40))
                            (local.get 1))))
  (func (export "i32x4_lane3") (param i32 i32) (result i32)
    (i32x4.extract_lane 3
      (i32x4.replace_lane 3 (i32x4.add (i32x4.splat (local.get 0)) (v128.const i32x4 10 20 30 40))
                            (local.get 1))))
  ;; lanes wrap: 200 + 100 in i8 lanes
  (func (export "i8x16_add_u") (result i32)
    (i8x16.extract_lane_u 5 (i8x16.add (i8x16.splat (i32.const 200)) (i8x16.splat (i32.const 100)))))
  (func (export "i8x16_lane_s") (param i32) (result i32)
    (i8x16.extract_lane_s 0 (i8x16.splat (local.get 0))))
  (func (export "i8x16_sub_neg") (result i32)
    (i8x16.extract_lane_s 15 (i8x16.sub (i8x16.neg (i8x16.splat (i32.const 3))) (i8x16.splat (i32.const 127)))))
  ;; 300 * 300 = 90000 = 24464 mod 65536
  (func (export "i16x8_mul") (result i32)
    (i16x8.extract_lane_s 7 (i16x8.mul (i16x8.splat (i32.const 300)) (i16x8.splat (i32.const 300)))))
  (func (export "i16x8_ops") (result i32)
    (i16x8.extract_lane_u 1
      (i16x8.sub (i16x8.add (i16x8.neg (i16x8.splat (i32.const 1))) (i16x8.replace_lane 1 (v128.const i64x2 0 0) (i32.const 5)))
                 (i16x8.splat (i32.const 2)))))
  (func (export "i32x4_mul_sub_neg") (result i32)
    (i32x4.extract_lane 0 (i32x4.sub (i32x4.mul (i32x4.splat (i32.const 0x10001)) (i32x4.splat (i32.const 0x10001)))
                                     (i32x4.neg (i32x4.splat (i32.const 7))))))
  (func (export "i64x2_ops") (param i64) (result i64)
    (i64x2.extract_lane 1
      (i64x2.sub (i64x2.mul (i64x2.replace_lane 1 (i64x2.splat (i64.const 3)) (local.get 0)) (i64x2.splat (i64.const 5)))
                 (i64x2.neg (i64x2.add (i64x2.splat (i64.const 1)) (i64x2.splat (i64.const 1)))))))
  (func (export "bitwise") (result i64)
    (i64x2.extract_lane 0
      (v128.xor (v128.or (v128.andnot (v128.const i64x2 0xff00 0) (v128.const i64x2 0x0f00 0))
                         (v128.and (v128.not (v128.const i64x2 0 0)) (v128.const i64x2 0x3 0)))
                (v128.const i64x2 0x1 0))))
  ;; f32/f64 lanes are bit patterns
  (func (export "f32x4_lanes") (result i32)
    (i32.reinterpret_f32 (f32x4.extract_lane 1 (f32x4.replace_lane 1 (f32x4.splat (f32.const 1)) (f32.const -2.5)))))
  (func (export "f64x2_lanes") (result i64)
    (i64.reinterpret_f64 (f64x2.extract_lane 0 (f64x2.replace_lane 1 (f64x2.splat (f64.const 0.5)) (f64.const 3)))))
  ;; memory: copy 16 bytes from 16 to a, then read 4 of them back
  (func (export "copy16") (param i32) (result i32)
    (v128.store (local.get 0) (v128.load (i32.const 16)))
    (i32.load offset=4 (local.get 0)))
  (func (export "load_at") (param i32) (result i32)
    (i32x4.extract_lane 0 (v128.load (local.get 0))))
  (func (export "load_x") (param i32 i32) (result i32)
    (i8x16.extract_lane_u 15 (v128.load (i32.add (local.get 0) (local.get 1)))))
  ;; a mutable v128 global: g += splat(1), lane 3
  (func (export "bump_global") (result i32)
    (global.set $g (i32x4.add (global.get $g) (i32x4.splat (i32.const 1))))
    (i32x4.extract_lane 3 (global.get $g)))
  ;; select, typed and not
  (func (export "select") (param i32) (result i32)
    (i32x4.extract_lane 1
      (select (v128.const i32x4 0 7 0 0) (v128.const i32x4 0 9 0 0) (local.get 0))))
  (func (export "select_t") (param i32) (result i32)
    (i32x4.extract_lane 1
      (select (result v128) (v128.const i32x4 0 7 0 0) (v128.const i32x4 0 9 0 0) (local.get 0))))
  ;; locals, blocks, loops and calls carry v128 values in two cells
  (func $swap (param v128 i32 v128) (result v128 i32 v128)
    (local.get 2) (local.get 1) (local.get 0))
  (func (export "locals_blocks_calls") (param i32) (result i32)
    (local $v v128) (local $w v128) (local $i i32)
    (local.set $v (i32x4.splat (local.get 0)))
    (local.set $w
      (block (result v128)
        (local.get $v)
        (loop $l (param v128) (result v128)
          (i32x4.add (i32x4.splat (i32.const 1)))
          (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (br_if $l (local.tee $w) (i32.lt_u (local.get $i) (i32.const 3))))
        (local.get $v) (i32.const 5) (local.get $v)
        (call $swap)
        (drop) (drop) (drop)))
    ;; w = v + 3 in every lane; a v128 result through a call
    (call $swap (v128.const i32x4 100 200 300 400) (i32.const 1) (local.get $w))
    (drop) (drop)
    (i32x4.extract_lane 2))
  ;; br_if out of the function with a v128 local as the result (two cells): the value must be
  ;; returned whether or not the branch is taken (the fall-through path once returned whatever
  ;; the stack cells held, found by the differential fuzzer); $fill leaves garbage there first
  (func $fill (param i64 i64 i64 i64 i64 i64) (result i64) (local.get 5))
  (func $keep (param v128 i32) (result v128) (local.get 0) (local.get 1) (br_if 0))
  (func (export "br_if_keeps_v128") (param i32) (result i64)
    (drop (call $fill (i64.const 1) (i64.const 2) (i64.const 3) (i64.const 4) (i64.const 5) (i64.const 6)))
    (i64x2.extract_lane 1 (call $keep (v128.const i64x2 7 8) (local.get 0))))
)
