;; A start function that writes before the instance (and so its memory) is known to the layer.
(module
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (func $init (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 0) (i32.const 8))))
  (start $init)
  (func (export "_start"))
)
