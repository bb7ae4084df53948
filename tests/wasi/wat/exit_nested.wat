;; proc_exit(42) three calls deep: nothing after it runs ("after" stays 0), the code comes out.
(module
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  (global $after (export "after") (mut i32) (i32.const 0))
  (func $g (param i32) (call $proc_exit (local.get 0)) (global.set $after (i32.const 1)))
  (func $f (param i32) (call $g (local.get 0)) (global.set $after (i32.const 2)))
  (func (export "_start") (call $f (i32.const 42)) (global.set $after (i32.const 3)))
  ;; a memory.grow the cap refuses, then proc_exit: still an exit, not a memory failure
  (memory 1)
  (func (export "grow_then_exit")
    (drop (memory.grow (i32.const 1000)))
    (call $proc_exit (i32.const 7)))
)
