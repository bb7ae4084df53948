;; proc_exit(42) three calls deep, after "before\n" on stdout: nothing after the exit runs (the
;; "after\n" writes would follow it at every level), and the code and the output come back.
(module
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  (memory (export "memory") 1)
  (data (i32.const 32) "before\n")
  (data (i32.const 48) "after\n")
  (func $say (param $at i32) (param $len i32)
    (i32.store (i32.const 0) (local.get $at))
    (i32.store (i32.const 4) (local.get $len))
    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8))))
  (func $g (call $proc_exit (i32.const 42)) (call $say (i32.const 48) (i32.const 6)))
  (func $f (call $g) (call $say (i32.const 48) (i32.const 6)))
  (func (export "_start")
    (call $say (i32.const 32) (i32.const 7))
    (call $f)
    (call $say (i32.const 48) (i32.const 6)))
)
