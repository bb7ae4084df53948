;; Imports a host function: the sandbox policy rejects it (INVALID_WASM).
(module
  (import "env" "f" (func))
  (func (export "main") (result i32) (i32.const 1)))
