;; A start function that calls proc_exit(3), and no memory at all (proc_exit takes no pointer).
(module
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  (func $init (call $proc_exit (i32.const 3)))
  (start $init)
  (func (export "_start") unreachable)
)
