;; A WASI module without _start (a reactor-style library): FUNCTION_NOT_FOUND as a command.
(module
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  (func (export "run") (call $proc_exit (i32.const 0)))
)
