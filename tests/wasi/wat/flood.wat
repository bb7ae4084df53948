;; Writes 1 GiB to stdout: 16384 fd_write calls of one 64 KiB iovec. "flood_iovs" asks for the
;; same in one call: 16384 iovecs that all point at the same 64 KiB.
(module
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 4)
  (func (export "_start") (local $i i32)
    (i32.store (i32.const 0) (i32.const 65536))
    (i32.store (i32.const 4) (i32.const 65536))
    (loop $l
      (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (i32.const 16384)))))
  (func (export "flood_iovs") (local $i i32)
    ;; iovecs at 131072 .. 131072 + 16384 * 8
    (loop $l
      (i32.store (i32.add (i32.const 131072) (i32.shl (local.get $i) (i32.const 3))) (i32.const 65536))
      (i32.store (i32.add (i32.const 131076) (i32.shl (local.get $i) (i32.const 3))) (i32.const 65536))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (i32.const 16384))))
    (drop (call $fd_write (i32.const 1) (i32.const 131072) (i32.const 16384) (i32.const 8))))
)
