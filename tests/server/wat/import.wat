;; A module that imports a host function: refused by the sandbox policy.
(module
  (import "env" "log" (func $log (param i32)))
  (func (export "main") (result i32) i32.const 1 call $log i32.const 0))
