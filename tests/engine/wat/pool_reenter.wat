;; test_pool's re-entry module: "outer" calls the host, which calls "deep" in the same store, so
;; the deepest frames belong to a nested execution that returns before the outer one does.
(module
  (import "host" "reenter" (func $reenter))
  (func (export "outer") (call $reenter))
  (func $deep (export "deep") (param $depth i32) (param $marker i64) (result i64)
    (local $a i64)
    (local.set $a (local.get $marker))
    (i64.add (local.get $a)
      (if (result i64) (i32.eqz (local.get $depth))
        (then (i64.const 0))
        (else (call $deep (i32.sub (local.get $depth) (i32.const 1)) (local.get $marker)))))))
