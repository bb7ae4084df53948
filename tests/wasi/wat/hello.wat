;; A command: "hello\n" to stdout, "oops\n" to stderr, then returns from _start (exit code 0).
(module
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "hello\n")
  (data (i32.const 32) "oops\n")
  (func (export "_start")
    ;; iovec at 0: {16, 6}; nwritten at 8
    (i32.store (i32.const 0) (i32.const 16))
    (i32.store (i32.const 4) (i32.const 6))
    (if (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)) (then unreachable))
    (i32.store (i32.const 0) (i32.const 32))
    (i32.store (i32.const 4) (i32.const 5))
    (if (call $fd_write (i32.const 2) (i32.const 0) (i32.const 1) (i32.const 8)) (then unreachable)))
  ;; an entry point of the wrong type
  (func (export "takes_arg") (param i32))
)
