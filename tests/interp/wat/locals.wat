;; Values the translator leaves in locals (local.get is not copied) must still see the value the
;; local had when they were pushed; results retargeted into locals; multi-value control flow.
(module
  ;; old a - new a, where the local is rewritten while the old value is still on the stack
  (func (export "set_while_referenced") (param i32 i32) (result i32)
    local.get 0
    local.get 1
    local.set 0
    local.get 0
    i32.sub)
  ;; x + (x + 10) through local.tee
  (func (export "tee_while_referenced") (param i32) (result i32)
    local.get 0
    local.get 0 i32.const 10 i32.add local.tee 0
    i32.add)
  ;; x + 100: the block rewrites the local read before it
  (func (export "block_write") (param i32) (result i32)
    local.get 0
    block
      i32.const 100 local.set 0
    end
    local.get 0
    i32.add)
  ;; x * (b ? 7 : x): a conditional rewrite
  (func (export "if_write") (param i32 i32) (result i32)
    local.get 0
    local.get 1
    if
      i32.const 7 local.set 0
    end
    local.get 0
    i32.mul)
  ;; (a + b)^2 with the sum produced straight into local 2
  (func (export "retarget") (param i32 i32) (result i32) (local i32)
    local.get 0 local.get 1 i32.add local.set 2
    local.get 2 local.get 2 i32.mul)
  ;; 1 + 2 + ... + n, the loop's adds writing their own operand locals
  (func (export "sum_to") (param i32) (result i32) (local i32)
    loop
      local.get 1 local.get 0 i32.add local.set 1
      local.get 0 i32.const 1 i32.sub local.tee 0
      br_if 0
    end
    local.get 1)
  ;; x if x != 0 (br_if carries the value), else 5
  (func (export "br_if_value") (param i32) (result i32)
    block (result i32)
      local.get 0
      local.get 0
      br_if 0
      i32.const 5 local.set 0
      drop
      local.get 0
    end)
  ;; multi-value loop: (1 + ... + n, 0) for n >= 1
  (func (export "mv_loop") (param i32) (result i32 i32) (local i32)
    i32.const 0
    local.get 0
    loop (param i32 i32) (result i32 i32)
      local.set 1
      local.get 1 i32.add
      local.get 1 i32.const 1 i32.sub
      local.get 1 i32.const 1 i32.gt_s
      br_if 0
    end)
  ;; br_table with a value, to labels at different heights: 0 -> 13, 1 -> 12, else -> 10
  (func (export "br_table_value") (param i32) (result i32)
    block (result i32)
      i32.const 1000 drop
      block (result i32)
        block (result i32)
          i32.const 10 local.get 0
          br_table 0 1 2
        end
        i32.const 1 i32.add
      end
      i32.const 2 i32.add
    end)
  (func (export "select_locals") (param i32 i32 i32) (result i32)
    local.get 0 local.get 1 local.get 2 select)
  ;; two results swapped from the params (a parallel move into the result cells)
  (func (export "swap") (param i32 i32) (result i32 i32) local.get 1 local.get 0)
  ;; conditional return of two values: (1, 2) if c, else (3, 4)
  (func (export "br_if_return") (param i32) (result i32 i32)
    i32.const 1 i32.const 2 local.get 0 br_if 0 drop drop i32.const 3 i32.const 4)
  ;; if/else with a block param: c ? x * 2 : x + 1
  (func (export "if_param") (param i32 i32) (result i32)
    local.get 0
    local.get 1
    if (param i32) (result i32)
      i32.const 2 i32.mul
    else
      i32.const 1 i32.add
    end)
  ;; calls: arguments from locals and constants, results used by the caller
  (func $add3 (param i32 i32 i32) (result i32) (i32.add (i32.add (local.get 0) (local.get 1)) (local.get 2)))
  (func (export "call_args") (param i32) (result i32)
    (call $add3 (local.get 0) (i32.const 100) (call $add3 (local.get 0) (local.get 0) (i32.const 1))))
  (func $fac (export "fac") (param i64) (result i64)
    (if (result i64) (i64.eqz (local.get 0))
      (then (i64.const 1))
      (else (i64.mul (local.get 0) (call $fac (i64.sub (local.get 0) (i64.const 1)))))))

  ;; fused i32.add + load/store: the address wraps at 32 bits before the offset is added
  (memory 1)
  (func (export "load_sum") (param i32 i32) (result i32) (i32.load8_u offset=1 (i32.add (local.get 0) (local.get 1))))
  (func (export "store_sum") (param i32 i32 i32) (i32.store8 (i32.add (local.get 0) (local.get 1)) (local.get 2)))
  ;; fused counter + branch: 3 * n, counting down with an add of -1
  (func (export "countdown") (param i32) (result i32) (local i32)
    loop
      local.get 1 i32.const 3 i32.add local.set 1
      local.get 0 i32.const -1 i32.add local.tee 0
      br_if 0
    end
    local.get 1)
  ;; the incremented local is also an if's param: it must be copied after the add, not before
  (func (export "add_if_param") (param i32) (result i32)
    local.get 0 i32.const 1 i32.add local.tee 0
    local.get 0 i32.const 10 i32.lt_u
    if (param i32) (result i32)
      i32.const 2 i32.mul
    else
      i32.const 100 i32.add
    end)
)
