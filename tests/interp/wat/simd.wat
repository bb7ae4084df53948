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

  ;; 70 v128 constants between two scalar ones: the constant table's rehash once put 141
  ;; constants in 128 slots and probed forever (a fuzz_exec timeout)
  (func (export "many_v128_consts") (result i32)
    i32.const 1
    v128.const i32x4 0 1 2 3 drop
    v128.const i32x4 1 2 3 4 drop
    v128.const i32x4 2 3 4 5 drop
    v128.const i32x4 3 4 5 6 drop
    v128.const i32x4 4 5 6 7 drop
    v128.const i32x4 5 6 7 8 drop
    v128.const i32x4 6 7 8 9 drop
    v128.const i32x4 7 8 9 10 drop
    v128.const i32x4 8 9 10 11 drop
    v128.const i32x4 9 10 11 12 drop
    v128.const i32x4 10 11 12 13 drop
    v128.const i32x4 11 12 13 14 drop
    v128.const i32x4 12 13 14 15 drop
    v128.const i32x4 13 14 15 16 drop
    v128.const i32x4 14 15 16 17 drop
    v128.const i32x4 15 16 17 18 drop
    v128.const i32x4 16 17 18 19 drop
    v128.const i32x4 17 18 19 20 drop
    v128.const i32x4 18 19 20 21 drop
    v128.const i32x4 19 20 21 22 drop
    v128.const i32x4 20 21 22 23 drop
    v128.const i32x4 21 22 23 24 drop
    v128.const i32x4 22 23 24 25 drop
    v128.const i32x4 23 24 25 26 drop
    v128.const i32x4 24 25 26 27 drop
    v128.const i32x4 25 26 27 28 drop
    v128.const i32x4 26 27 28 29 drop
    v128.const i32x4 27 28 29 30 drop
    v128.const i32x4 28 29 30 31 drop
    v128.const i32x4 29 30 31 32 drop
    v128.const i32x4 30 31 32 33 drop
    v128.const i32x4 31 32 33 34 drop
    v128.const i32x4 32 33 34 35 drop
    v128.const i32x4 33 34 35 36 drop
    v128.const i32x4 34 35 36 37 drop
    v128.const i32x4 35 36 37 38 drop
    v128.const i32x4 36 37 38 39 drop
    v128.const i32x4 37 38 39 40 drop
    v128.const i32x4 38 39 40 41 drop
    v128.const i32x4 39 40 41 42 drop
    v128.const i32x4 40 41 42 43 drop
    v128.const i32x4 41 42 43 44 drop
    v128.const i32x4 42 43 44 45 drop
    v128.const i32x4 43 44 45 46 drop
    v128.const i32x4 44 45 46 47 drop
    v128.const i32x4 45 46 47 48 drop
    v128.const i32x4 46 47 48 49 drop
    v128.const i32x4 47 48 49 50 drop
    v128.const i32x4 48 49 50 51 drop
    v128.const i32x4 49 50 51 52 drop
    v128.const i32x4 50 51 52 53 drop
    v128.const i32x4 51 52 53 54 drop
    v128.const i32x4 52 53 54 55 drop
    v128.const i32x4 53 54 55 56 drop
    v128.const i32x4 54 55 56 57 drop
    v128.const i32x4 55 56 57 58 drop
    v128.const i32x4 56 57 58 59 drop
    v128.const i32x4 57 58 59 60 drop
    v128.const i32x4 58 59 60 61 drop
    v128.const i32x4 59 60 61 62 drop
    v128.const i32x4 60 61 62 63 drop
    v128.const i32x4 61 62 63 64 drop
    v128.const i32x4 62 63 64 65 drop
    v128.const i32x4 63 64 65 66 drop
    v128.const i32x4 64 65 66 67 drop
    v128.const i32x4 65 66 67 68 drop
    v128.const i32x4 66 67 68 69 drop
    v128.const i32x4 67 68 69 70 drop
    v128.const i32x4 68 69 70 71 drop
    v128.const i32x4 69 70 71 72 drop
    i32.const 2 i32.add
    v128.const i32x4 70 71 72 73 i32x4.extract_lane 3 i32.add)
)
