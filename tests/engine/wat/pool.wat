;; test_pool's module: a memory without a declared maximum (its reservation is the store's cap),
;; functions that fill it, grow it and count what is not zero, and a recursion whose frames hold
;; a marker in their locals (what a reused stack must not keep).
(module
  (memory (export "memory") 1)
  (func (export "grow") (param $pages i32) (result i32)
    (memory.grow (local.get $pages)))
  (func (export "fill") (param $byte i32)
    (memory.fill (i32.const 0) (local.get $byte) (i32.mul (memory.size) (i32.const 65536))))
  ;; 8-byte words of the memory that are not zero
  (func (export "nonzero") (result i32)
    (local $at i32) (local $n i32) (local $end i32)
    (local.set $end (i32.mul (memory.size) (i32.const 65536)))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $at) (local.get $end)))
        (if (i64.ne (i64.load (local.get $at)) (i64.const 0))
          (then (local.set $n (i32.add (local.get $n) (i32.const 1)))))
        (local.set $at (i32.add (local.get $at) (i32.const 8)))
        (br $next)))
    (local.get $n))
  ;; $depth frames, each with four locals holding $marker; returns $marker * 4 * ($depth + 1)
  (func $deep (export "deep") (param $depth i32) (param $marker i64) (result i64)
    (local $a i64) (local $b i64) (local $c i64) (local $d i64)
    (local.set $a (local.get $marker))
    (local.set $b (local.get $marker))
    (local.set $c (local.get $marker))
    (local.set $d (local.get $marker))
    (i64.add
      (i64.add (i64.add (local.get $a) (local.get $b)) (i64.add (local.get $c) (local.get $d)))
      (if (result i64) (i32.eqz (local.get $depth))
        (then (i64.const 0))
        (else (call $deep (i32.sub (local.get $depth) (i32.const 1)) (local.get $marker)))))))
