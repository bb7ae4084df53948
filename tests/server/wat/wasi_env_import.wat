;; Imports a WASI function and one from "env": outside the profile (INVALID_WASM).
(module
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  (import "env" "secret_host_fn" (func $f))
  (func (export "_start") (call $f))
)
