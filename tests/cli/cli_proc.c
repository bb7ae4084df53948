/* cli_proc.c: see cli_proc.h. */
#include "cli_proc.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

extern char **environ;

static void drain(int fd, char *buf, size_t *len, bool *open) {
  char chunk[4096];
  ssize_t n = read(fd, chunk, sizeof chunk);
  if (n <= 0) {
    if (n < 0 && errno == EINTR) return;
    *open = false;
    return;
  }
  size_t room = CLI_PROC_OUT_MAX - 1 - *len;
  size_t take = (size_t)n < room ? (size_t)n : room;
  memcpy(buf + *len, chunk, take);
  *len += take;
  buf[*len] = '\0';
}

void cli_proc_run(cli_proc *r, const char *bin, const char *const *args) {
  char *argv[CLI_PROC_ARGV_MAX];
  int argc = 0;
  argv[argc++] = (char *)bin;
  for (; args[argc - 1] != NULL; argc++) {
    assert_true(argc < CLI_PROC_ARGV_MAX - 1);
    argv[argc] = (char *)args[argc - 1];
  }
  argv[argc] = NULL;

  int out_pipe[2], err_pipe[2];
  assert_int_equal(pipe2(out_pipe, O_CLOEXEC), 0);
  assert_int_equal(pipe2(err_pipe, O_CLOEXEC), 0);
  posix_spawn_file_actions_t actions;
  assert_int_equal(posix_spawn_file_actions_init(&actions), 0);
  assert_int_equal(posix_spawn_file_actions_adddup2(&actions, out_pipe[1], 1), 0);
  assert_int_equal(posix_spawn_file_actions_adddup2(&actions, err_pipe[1], 2), 0);
  pid_t pid;
  int rc = posix_spawn(&pid, bin, &actions, NULL, argv, environ);
  posix_spawn_file_actions_destroy(&actions);
  assert_int_equal(rc, 0);
  close(out_pipe[1]);
  close(err_pipe[1]);

  memset(r, 0, sizeof *r);
  size_t out_len = 0, err_len = 0;
  bool out_open = true, err_open = true;
  while (out_open || err_open) {
    struct pollfd fds[2] = {{out_open ? out_pipe[0] : -1, POLLIN, 0},
                            {err_open ? err_pipe[0] : -1, POLLIN, 0}};
    if (poll(fds, 2, -1) < 0) {
      assert_int_equal(errno, EINTR);
      continue;
    }
    if (fds[0].revents) drain(out_pipe[0], r->out, &out_len, &out_open);
    if (fds[1].revents) drain(err_pipe[0], r->err, &err_len, &err_open);
  }
  close(out_pipe[0]);
  close(err_pipe[0]);
  int wstatus;
  while (waitpid(pid, &wstatus, 0) < 0) assert_int_equal(errno, EINTR);
  if (!WIFEXITED(wstatus)) fail_msg("%s died with signal %d; stderr: %s", bin, WTERMSIG(wstatus), r->err);
  r->status = WEXITSTATUS(wstatus);
}
