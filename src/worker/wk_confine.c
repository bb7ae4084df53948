/*
 * wk_confine.c: a worker's confinement (wk_confine.h). Every step that can be undone by a later
 * step comes before it: namespaces and limits while the process may still change them, the
 * descriptors closed while close is still allowed, the seccomp filter last.
 */
#include "wk_confine.h"

#include <errno.h>
#include <sched.h>
#include <seccomp.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

/* What the interpreter's stacks (8 MiB of cells, the frames), libc, the heap's own bookkeeping and
 * the code of this small program need beside the linear memories and the job. */
#define WK_AS_OVERHEAD ((uint64_t)256 << 20)

/* The engine pool's one memory slot (wk_main.c), kept reserved while a job whose memory does not
 * fit it maps its own: hvw_pool_config's default slot_pages, 1024 pages of 64 KiB. */
#define WK_AS_POOL_SLOT ((uint64_t)1024 << 16)

uint64_t wk_confine_as_limit(const wk_confine_opts *opts) {
  /* The linear memory cap; the job's frame, the engine's copy of the module and its translated
   * code (a few times the module's size): six times the largest job covers them. */
  return ((uint64_t)opts->max_memory_mb << 20) + 6 * (uint64_t)opts->max_job_bytes +
         opts->cache_bytes + WK_AS_POOL_SLOT + WK_AS_OVERHEAD;
}

/* New user, network and mount namespaces; without a user namespace when the kernel refuses one
 * (a container without it, a sysctl), then nothing. Never fatal: seccomp confines without them. */
static void wk_unshare(wk_hello *hello) {
  hello->ns_flags = 0;
  hello->ns_errno = 0;
  if (unshare(CLONE_NEWUSER | CLONE_NEWNET | CLONE_NEWNS) == 0) {
    hello->ns_flags = WK_NS_USER | WK_NS_NET | WK_NS_MOUNT;
    return;
  }
  hello->ns_errno = errno;
  if (unshare(CLONE_NEWNET | CLONE_NEWNS) == 0) hello->ns_flags = WK_NS_NET | WK_NS_MOUNT;
}

static bool wk_limit(int resource, rlim_t value, const char *name, char *why, size_t why_size) {
  struct rlimit rl = {value, value};
  if (setrlimit(resource, &rl) == 0) return true;
  snprintf(why, why_size, "setrlimit(%s): %s", name, strerror(errno));
  return false;
}

/* Closes every descriptor but `keep`. */
static bool wk_close_all_but(int keep, char *why, size_t why_size) {
  if ((keep > 0 && close_range(0, (unsigned)keep - 1, 0) != 0) ||
      close_range((unsigned)keep + 1, ~0u, 0) != 0) {
    snprintf(why, why_size, "close_range: %s", strerror(errno));
    return false;
  }
  return true;
}

/* The allow-list; docs/workers.md gives the reason for each call. */
static bool wk_seccomp(int channel, char *why, size_t why_size) {
  scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_KILL_PROCESS);
  if (!ctx) {
    snprintf(why, why_size, "seccomp_init failed");
    return false;
  }
  int rc = 0;
#define WK_ALLOW(name) \
  if (rc == 0) rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(name), 0)
#define WK_ALLOW1(name, cmp) \
  if (rc == 0) rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(name), 1, cmp)
  /* The channel, and only the channel. */
  WK_ALLOW1(read, SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)channel));
  WK_ALLOW1(write, SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)channel));
  /* Memory: the heap, linear memories, the interpreter's stacks; never executable (the engine is
   * an interpreter: no mapping of this process needs PROT_EXEC after start). */
  WK_ALLOW1(mmap, SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0));
  WK_ALLOW1(mprotect, SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0));
  WK_ALLOW(munmap);
  WK_ALLOW(mremap);
  WK_ALLOW(madvise);
  WK_ALLOW(brk);
  /* Time: the engine's and WASI's clocks (normally the vDSO, the call when it is unavailable),
   * and the deadline's timer (setitimer, its SIGALRM and the return from the handler). */
  WK_ALLOW(clock_gettime);
  WK_ALLOW(setitimer);
  WK_ALLOW(rt_sigreturn);
  /* WASI random_get. */
  WK_ALLOW(getrandom);
  /* glibc's locks (uncontended in one thread, but a lock may still wake). */
  WK_ALLOW(futex);
  /* Leaving. */
  WK_ALLOW(exit_group);
  WK_ALLOW(exit);
#undef WK_ALLOW
#undef WK_ALLOW1
  if (rc == 0) rc = seccomp_load(ctx);
  seccomp_release(ctx);
  if (rc != 0) {
    snprintf(why, why_size, "seccomp: %s", strerror(-rc));
    return false;
  }
  return true;
}

/* AddressSanitizer reserves terabytes of shadow memory at start-up (MAP_NORESERVE, but counted in
 * the address space), far past any limit sized for a worker. A sanitized worker (tests only) gets
 * the same limit on top of what it has already mapped: it still cannot grow by more than a
 * production worker could. */
#if defined(__SANITIZE_ADDRESS__)
#define WK_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define WK_SANITIZED 1
#endif
#endif
#ifndef WK_SANITIZED
#define WK_SANITIZED 0
#endif

/* The address space mapped now, in bytes (/proc/self/statm's first field), or 0 when unknown.
 * Only before the filter: it opens a file. */
static uint64_t wk_mapped_now(void) {
  FILE *f = fopen("/proc/self/statm", "r");
  if (!f) return 0;
  unsigned long long pages = 0;
  int n = fscanf(f, "%llu", &pages);
  fclose(f);
  long page = sysconf(_SC_PAGESIZE);
  return n == 1 && page > 0 ? pages * (uint64_t)page : 0;
}

bool wk_confine(const wk_confine_opts *opts, wk_hello *hello, char *why, size_t why_size) {
  *hello = (wk_hello){.version = WK_VERSION, .pid = (int32_t)getpid()};
  wk_unshare(hello);
  uint64_t as = wk_confine_as_limit(opts);
  if (WK_SANITIZED) {
    uint64_t mapped = wk_mapped_now();
    if (mapped == 0) {
      snprintf(why, why_size, "cannot read /proc/self/statm for the sanitized address-space limit");
      return false;
    }
    as += mapped;
  }
  if (!wk_limit(RLIMIT_CORE, 0, "RLIMIT_CORE", why, why_size) ||
      !wk_limit(RLIMIT_FSIZE, 0, "RLIMIT_FSIZE", why, why_size) ||
      !wk_limit(RLIMIT_MEMLOCK, 0, "RLIMIT_MEMLOCK", why, why_size) ||
      !wk_limit(RLIMIT_NOFILE, (rlim_t)opts->channel_fd + 1, "RLIMIT_NOFILE", why, why_size) ||
      !wk_limit(RLIMIT_AS, (rlim_t)as, "RLIMIT_AS", why, why_size))
    return false;
  if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0 || prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
    snprintf(why, why_size, "prctl: %s", strerror(errno));
    return false;
  }
  if (!wk_close_all_but(opts->channel_fd, why, why_size)) return false;
  return wk_seccomp(opts->channel_fd, why, why_size);
}
