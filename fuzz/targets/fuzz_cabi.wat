;; fuzz_cabi's guest (fuzz/targets/fuzz_cabi.c): a cabi_realloc, exports and cabi_post_<name> that
;; follow a script the harness writes from the fuzz input into memory[0 .. 256) (64 u32 words,
;; read in a circle by $next; arguments copied over it change what follows, deterministically).
;; Nothing here writes memory except the echo (8 bytes at the retptr) and memory.grow, so after a
;; call the harness can compare a lifted result with what the memory holds. The memory may grow to
;; 4 pages; a refused grow makes cabi_realloc's pointer run past the end, which the host must catch.
(module
  (memory (export "memory") 1 4)
  (global $cur (mut i32) (i32.const 0))
  (global $bump (mut i32) (i32.const 1024))
  (global $last_retptr (export "last_retptr") (mut i32) (i32.const -1))
  (global $echoed (export "echoed") (mut i32) (i32.const 0))
  (global $post_calls (export "post_calls") (mut i32) (i32.const 0))
  (global $post_arg (export "post_arg") (mut i32) (i32.const -1))

  (func $next (result i32)
    (local $v i32)
    (local.set $v (i32.load (i32.and (global.get $cur) (i32.const 252))))
    (global.set $cur (i32.add (global.get $cur) (i32.const 4)))
    (local.get $v))

  (func $mem_bytes (result i64)
    (i64.mul (i64.extend_i32_u (memory.size)) (i64.const 65536)))

  ;; The script's next word & 7 picks: 0-2 an honest bump allocation (growing as it can),
  ;; 3 a raw pointer, 4 the end of memory minus up to 255, 5 grow a page then a raw pointer,
  ;; 6 trap, 7 spin until the gas is gone.
  (func (export "cabi_realloc") (param $old i32) (param $old_size i32) (param $align i32)
        (param $size i32) (result i32)
    (local $op i32) (local $p i32)
    (local.set $op (i32.and (call $next) (i32.const 7)))
    (if (i32.le_u (local.get $op) (i32.const 2))
      (then
        (local.set $p (global.get $bump))
        (global.set $bump (i32.add (global.get $bump) (local.get $size)))
        (block $done
          (loop $grow
            (br_if $done (i64.le_u (i64.add (i64.extend_i32_u (local.get $p)) (i64.extend_i32_u (local.get $size)))
                                   (call $mem_bytes)))
            (br_if $done (i32.eq (memory.grow (i32.const 1)) (i32.const -1)))
            (br $grow)))
        (return (local.get $p))))
    (if (i32.eq (local.get $op) (i32.const 3)) (then (return (call $next))))
    (if (i32.eq (local.get $op) (i32.const 4))
      (then (return (i32.sub (i32.wrap_i64 (call $mem_bytes)) (i32.and (call $next) (i32.const 255))))))
    (if (i32.eq (local.get $op) (i32.const 5))
      (then (drop (memory.grow (i32.const 1))) (return (call $next))))
    (if (i32.eq (local.get $op) (i32.const 6)) (then unreachable))
    (loop $spin (br $spin))
    unreachable)

  ;; The retptr: a raw script word (op & 3 == 0) or 256 + a multiple of 4 below 2048. With op bit
  ;; 2 and a first blob, (p, l) are stored there when the 8 bytes fit (echoed = 1).
  (func $ret (param $p i32) (param $l i32) (param $has i32) (result i32)
    (local $op i32) (local $r i32)
    (local.set $op (call $next))
    (if (i32.eqz (i32.and (local.get $op) (i32.const 3)))
      (then (local.set $r (call $next)))
      (else (local.set $r (i32.add (i32.const 256) (i32.and (call $next) (i32.const 0x7FC))))))
    (global.set $echoed (i32.const 0))
    (if (i32.and (local.get $has) (i32.ne (i32.and (local.get $op) (i32.const 4)) (i32.const 0)))
      (then
        (if (i64.le_u (i64.add (i64.extend_i32_u (local.get $r)) (i64.const 8)) (call $mem_bytes))
          (then
            (i32.store (local.get $r) (local.get $p))
            (i32.store offset=4 (local.get $r) (local.get $l))
            (global.set $echoed (i32.const 1))))))
    (global.set $last_retptr (local.get $r))
    (local.get $r))

  ;; Traps when the script's next word & 15 is 0.
  (func $post (param $r i32)
    (global.set $post_calls (i32.add (global.get $post_calls) (i32.const 1)))
    (global.set $post_arg (local.get $r))
    (if (i32.eqz (i32.and (call $next) (i32.const 15))) (then unreachable)))

  (func (export "f0") (param i32 i32) (result i32) (call $ret (local.get 0) (local.get 1) (i32.const 1)))
  (func (export "cabi_post_f0") (param i32) (call $post (local.get 0)))
  (func (export "f1") (param i32 i32 i32 i32 i64) (result i32)
    (call $ret (local.get 0) (local.get 1) (i32.const 1)))
  (func (export "cabi_post_f1") (param i32) (call $post (local.get 0)))
  (func (export "f2") (param i32) (result i32) (call $ret (i32.const 0) (i32.const 0) (i32.const 0)))
  (func (export "f3") (param f64 i32 i32) (result i32 i32) (i32.const 1) (i32.const 2))
  (func (export "f4") (param i32 i32) (result i32) (call $ret (local.get 0) (local.get 1) (i32.const 1)))
  (func (export "cabi_post_f4") (param i32 i32))
)
