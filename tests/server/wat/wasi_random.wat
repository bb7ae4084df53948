;; random_get with a huge length: 4 GiB - 1 from address 0 is EFAULT (21); 16 MiB - 64 (all the
;; memory after 64) works and charges a gas unit per byte. Exits with 100 * first + second (2100),
;; after checking that the first 32 random bytes are not all zero.
(module
  (import "wasi_snapshot_preview1" "random_get" (func $random_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  (memory (export "memory") 256)
  (func (export "_start") (local $a i32) (local $b i32)
    (local.set $a (call $random_get (i32.const 0) (i32.const -1)))
    (local.set $b (call $random_get (i32.const 64) (i32.const 16777152)))
    (if (i64.eqz (i64.or (i64.or (i64.load (i32.const 64)) (i64.load (i32.const 72)))
                         (i64.or (i64.load (i32.const 80)) (i64.load (i32.const 88)))))
      (then unreachable))
    (call $proc_exit (i32.add (i32.mul (local.get $a) (i32.const 100)) (local.get $b))))
)
