;; Calls into the host, and from the host back into WebAssembly.
(module
  (import "env" "callback" (func $callback (param i32) (result i32)))
  (func (export "double") (param i32) (result i32) (i32.mul (local.get 0) (i32.const 2)))
  ;; 1 + callback(x): the host calls "double" on the same store
  (func (export "via_host") (param i32) (result i32) (i32.add (call $callback (local.get 0)) (i32.const 1)))
  (export "callback" (func $callback))
)
