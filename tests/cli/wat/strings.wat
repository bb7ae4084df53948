;; String and bytes arguments and results through the Canonical ABI, for `hypervisor run` tests.
(module
  (memory (export "memory") 1)
  (global $bump (mut i32) (i32.const 1024))
  (func $alloc (param $size i32) (result i32)
    (local $p i32)
    (local.set $p (global.get $bump))
    (global.set $bump (i32.add (local.get $p) (local.get $size)))
    (if (i32.gt_u (global.get $bump) (i32.mul (memory.size) (i32.const 65536)))
      (then
        (if (i32.eq (memory.grow (i32.add (i32.div_u (i32.sub (global.get $bump) (i32.mul (memory.size) (i32.const 65536)))
                                                      (i32.const 65536))
                                          (i32.const 1)))
                    (i32.const -1))
          (then unreachable))))
    (local.get $p))
  (func (export "cabi_realloc") (param i32 i32 i32 i32) (result i32) (call $alloc (local.get 3)))

  ;; (ptr, len) stored at 16, the retptr
  (func $ret (param $p i32) (param $l i32) (result i32)
    (i32.store (i32.const 16) (local.get $p))
    (i32.store (i32.const 20) (local.get $l))
    (i32.const 16))

  (data (i32.const 64) "hello, ")
  ;; greet(string) -> string: "hello, " + the argument
  (func (export "greet") (param $p i32) (param $l i32) (result i32)
    (local $out i32)
    (local.set $out (call $alloc (i32.add (local.get $l) (i32.const 7))))
    (memory.copy (local.get $out) (i32.const 64) (i32.const 7))
    (memory.copy (i32.add (local.get $out) (i32.const 7)) (local.get $p) (local.get $l))
    (call $ret (local.get $out) (i32.add (local.get $l) (i32.const 7))))
  ;; echo(bytes) -> bytes, echo_s(string) -> string
  (func (export "echo") (param $p i32) (param $l i32) (result i32) (call $ret (local.get $p) (local.get $l)))
  (func (export "echo_s") (param $p i32) (param $l i32) (result i32) (call $ret (local.get $p) (local.get $l)))
  ;; len(bytes) -> i32
  (func (export "len") (param $p i32) (param $l i32) (result i32) (local.get $l))
  ;; repeat(string, i32 n) -> string: the argument n times
  (func (export "repeat") (param $p i32) (param $l i32) (param $n i32) (result i32)
    (local $out i32) (local $k i32)
    (local.set $out (call $alloc (i32.mul (local.get $l) (local.get $n))))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $k) (local.get $n)))
        (memory.copy (i32.add (local.get $out) (i32.mul (local.get $k) (local.get $l))) (local.get $p) (local.get $l))
        (local.set $k (i32.add (local.get $k) (i32.const 1)))
        (br $next)))
    (call $ret (local.get $out) (i32.mul (local.get $l) (local.get $n))))
  ;; zeros(n) -> bytes: n zero bytes from the start of the memory's second KiB
  (func (export "zeros") (param $n i32) (result i32) (call $ret (i32.const 32768) (local.get $n)))
  (data (i32.const 96) "\c0\af")
  (func (export "bad_utf8") (result i32) (call $ret (i32.const 96) (i32.const 2)))
  (func (export "bad_ptr") (result i32) (call $ret (i32.const 65535) (i32.const 2)))
  (func (export "misaligned") (result i32) (i32.const 18))
  ;; post_trap() -> string, whose cabi_post traps
  (func (export "post_trap") (result i32) (call $ret (i32.const 64) (i32.const 5)))
  (func (export "cabi_post_post_trap") (param i32) unreachable)
)
