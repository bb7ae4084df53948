;; Protocol v1.1 guests for the service tests: strings and bytes through the Canonical ABI
;; (docs/protocol.md, "Strings and bytes"), honest and lying.
(module
  (memory (export "memory") 1)
  (global $heap (mut i32) (i32.const 1024))
  (global $posts (mut i32) (i32.const 0))

  ;; A bump allocator: align to `align`, grow memory when needed.
  (func (export "cabi_realloc") (param $old i32) (param $old_size i32) (param $align i32)
        (param $size i32) (result i32)
    (local $p i32) (local $end i32)
    (local.set $p (i32.and (i32.add (global.get $heap) (i32.sub (local.get $align) (i32.const 1)))
                           (i32.sub (i32.const 0) (local.get $align))))
    (local.set $end (i32.add (local.get $p) (local.get $size)))
    (if (i32.gt_u (local.get $end) (i32.mul (memory.size) (i32.const 65536)))
      (then (if (i32.eq (memory.grow (i32.add (i32.shr_u (i32.sub (local.get $end)
                          (i32.mul (memory.size) (i32.const 65536))) (i32.const 16)) (i32.const 1)))
                        (i32.const -1))
              (then unreachable))))
    (global.set $heap (local.get $end))
    (local.get $p))

  ;; The (ptr, len) pair of a result, at 8.
  (func $ret (param $ptr i32) (param $len i32) (result i32)
    (i32.store (i32.const 8) (local.get $ptr))
    (i32.store (i32.const 12) (local.get $len))
    (i32.const 8))

  ;; echo(string|bytes) -> the same
  (func (export "echo") (param $ptr i32) (param $len i32) (result i32)
    (call $ret (local.get $ptr) (local.get $len)))
  (func (export "cabi_post_echo") (param i32)
    (global.set $posts (i32.add (global.get $posts) (i32.const 1))))

  ;; repeat(s, n) -> s n times
  (func (export "repeat") (param $ptr i32) (param $len i32) (param $n i32) (result i32)
    (local $out i32) (local $k i32)
    (local.set $out (call 0 (i32.const 0) (i32.const 0) (i32.const 1)
                            (i32.mul (local.get $len) (local.get $n))))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $k) (local.get $n)))
        (memory.copy (i32.add (local.get $out) (i32.mul (local.get $k) (local.get $len)))
                     (local.get $ptr) (local.get $len))
        (local.set $k (i32.add (local.get $k) (i32.const 1)))
        (br $next)))
    (call $ret (local.get $out) (i32.mul (local.get $len) (local.get $n))))

  ;; length(string|bytes) -> i32
  (func (export "length") (param $ptr i32) (param $len i32) (result i32) (local.get $len))

  (func (export "add") (param i32 i32) (result i32) (i32.add (local.get 0) (local.get 1)))
  (func (export "wide") (result i64) (i64.const 7))

  ;; A secret the plaintext must never show: a trap in an export whose name is private.
  (func (export "confidential_model_v7") (param i32 i32) (result i32) unreachable)

  ;; Liars: a pair outside memory, a misaligned retptr, bytes that are not UTF-8, a huge length.
  (func (export "lie_pointer") (result i32) (call $ret (i32.const 65530) (i32.const 100)))
  (func (export "lie_misaligned") (result i32) (i32.const 10))
  (func (export "lie_utf8") (result i32)
    (i32.store (i32.const 32) (i32.const 0x80FFC328))
    (call $ret (i32.const 32) (i32.const 4)))
  (func (export "lie_huge") (result i32) (call $ret (i32.const 0) (i32.const 0x7fffffff)))
)
