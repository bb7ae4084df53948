;; The sample of the README's walk-through: integer and float arithmetic, and a trap.
(module
  (func (export "add") (param i32 i32) (result i32)
    local.get 0 local.get 1 i32.add)
  (func (export "hypot") (param f64 f64) (result f64)
    local.get 0 local.get 0 f64.mul local.get 1 local.get 1 f64.mul f64.add f64.sqrt)
  ;; Iterative Fibonacci: fib(90) still fits an i64.
  (func (export "fib") (param i32) (result i64)
    (local i64 i64 i64)
    i64.const 1 local.set 2
    (block $done
      (loop $next
        local.get 0 i32.eqz br_if $done
        local.get 1 local.get 2 i64.add local.set 3
        local.get 2 local.set 1
        local.get 3 local.set 2
        local.get 0 i32.const 1 i32.sub local.set 0
        br $next))
    local.get 1)
  (func (export "div") (param i32 i32) (result i32)
    local.get 0 local.get 1 i32.div_s))
