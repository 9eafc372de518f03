/* The code that runs in a forked child between fork() and exec(). */
#pragma once
#include <stdint.h>
#include <sys/resource.h>
#include <sys/types.h>

/* What failed, sent over the CLOEXEC report pipe (nothing is sent when exec succeeds). */
enum { CHILD_STDIO = 1, CHILD_CHDIR, CHILD_SETGROUPS, CHILD_SETGID, CHILD_SETUID, CHILD_EXEC };

struct child_failure {
	int32_t stage;
	int32_t err;
};

struct child_spec {
	int stdin_fd; /* -1: /dev/null */
	int stdout_fd, stderr_fd;
	int report_fd;
	char *cwd; /* "" = "/" */
	uint32_t uid, gid;
	char **argv, **envp;
	const char *pty_slave; /* non-NULL: stdin/stdout/stderr are this terminal, the controlling one */
};

/* rt-init's own settings differ from what a spawned process should get: it runs with umask 0
 * (so file-op modes are exact) and a raised fd limit. The originals are restored in the child. */
extern mode_t g_child_umask;
extern struct rlimit g_child_nofile;

void child_exec(const struct child_spec *s) __attribute__((noreturn));
