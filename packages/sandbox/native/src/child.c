#include "child.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/close_range.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

mode_t g_child_umask = 022;
struct rlimit g_child_nofile;

#define DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

static __attribute__((noreturn)) void fail(const struct child_spec *s, int stage)
{
	struct child_failure f = {stage, errno};
	ssize_t r = write(s->report_fd, &f, sizeof f);
	(void)r;
	_exit(127);
}

static void reset_signals(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = SIG_DFL;
	for (int sig = 1; sig < NSIG; sig++)
		sigaction(sig, &sa, NULL); /* KILL, STOP and libc-reserved ones fail harmlessly */
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
}

/* Every rt-init fd is opened CLOEXEC already; this also covers anything inherited from
 * whoever started rt-init. Marking instead of closing keeps report_fd usable until exec. */
static void cloexec_from_3(void)
{
	if (close_range(3, ~0U, CLOSE_RANGE_CLOEXEC) == 0)
		return;
	/* Kernel < 5.11 or a seccomp filter without close_range. */
	long max = sysconf(_SC_OPEN_MAX);
	if (max < 0 || max > 65536)
		max = 65536;
	for (int fd = 3; fd < max; fd++)
		fcntl(fd, F_SETFD, FD_CLOEXEC);
}

static void exec_sh(const char *path, char **argv, char **envp)
{
	/* What execvp does for a file without a #! line: run it as a shell script. */
	int argc = 0;
	while (argv[argc])
		argc++;
	char **v = malloc(((size_t)argc + 2) * sizeof *v);
	if (!v)
		return;
	v[0] = "/bin/sh";
	v[1] = (char *)path;
	for (int i = 1; i <= argc; i++)
		v[i + 1] = argv[i];
	execve("/bin/sh", v, envp);
	errno = ENOEXEC;
}

static void try_exec(const char *path, char **argv, char **envp)
{
	execve(path, argv, envp);
	if (errno == ENOEXEC)
		exec_sh(path, argv, envp);
}

/* execvpe, but searching the PATH of the new environment (glibc's uses rt-init's own). */
static void exec_search(char **argv, char **envp)
{
	const char *file = argv[0];
	if (!*file) {
		errno = ENOENT;
		return;
	}
	if (strchr(file, '/')) {
		try_exec(file, argv, envp);
		return;
	}
	const char *path = DEFAULT_PATH;
	for (char **e = envp; *e; e++)
		if (!strncmp(*e, "PATH=", 5)) {
			path = *e + 5;
			break;
		}
	size_t flen = strlen(file);
	int eacces = 0;
	for (const char *p = path;;) {
		const char *end = strchrnul(p, ':');
		size_t dlen = (size_t)(end - p);
		char *full = malloc(dlen + flen + 2);
		if (!full)
			return;
		/* An empty PATH element means the current directory. */
		if (dlen) {
			memcpy(full, p, dlen);
			full[dlen++] = '/';
		}
		memcpy(full + dlen, file, flen + 1);
		try_exec(full, argv, envp);
		free(full);
		switch (errno) {
		case EACCES: eacces = 1; break;
		case ENOENT:
		case ENOTDIR:
		case ESTALE:
		case ENODEV:
		case ETIMEDOUT:
		case ELOOP:
		case ENAMETOOLONG: break;
		default: return;
		}
		if (!*end)
			break;
		p = end + 1;
	}
	errno = eacces ? EACCES : ENOENT;
}

void child_exec(const struct child_spec *s)
{
	reset_signals();
	setsid();

	if (s->pty_slave) {
		/* The session leader opens its terminal: with TIOCSCTTY it becomes the controlling one,
		 * so job control and ^C reach the foreground process group. */
		int t = open(s->pty_slave, O_RDWR | O_CLOEXEC);
		if (t < 0 || ioctl(t, TIOCSCTTY, 0) < 0 || dup2(t, 0) < 0 || dup2(t, 1) < 0 || dup2(t, 2) < 0)
			fail(s, CHILD_STDIO);
		goto stdio_done;
	}
	int in = s->stdin_fd;
	if (in < 0) {
		in = open("/dev/null", O_RDONLY | O_CLOEXEC);
		if (in < 0) {
			/* A template without /dev/null: an empty pipe reads as EOF just the same. */
			int p[2];
			if (pipe2(p, O_CLOEXEC) < 0)
				fail(s, CHILD_STDIO);
			close(p[1]);
			in = p[0];
		}
	}
	/* All source fds are >= 3 (rt-init keeps 0-2 occupied), so these cannot clobber each other. */
	if (dup2(in, 0) < 0 || dup2(s->stdout_fd, 1) < 0 || dup2(s->stderr_fd, 2) < 0)
		fail(s, CHILD_STDIO);
stdio_done:

	if (chdir(s->cwd[0] ? s->cwd : "/") < 0)
		fail(s, CHILD_CHDIR);
	if (s->uid || s->gid) {
		if (setgroups(0, NULL) < 0)
			fail(s, CHILD_SETGROUPS);
		if (s->gid && setgid(s->gid) < 0)
			fail(s, CHILD_SETGID);
		if (s->uid && setuid(s->uid) < 0)
			fail(s, CHILD_SETUID);
	}
	umask(g_child_umask);
	if (g_child_nofile.rlim_cur)
		setrlimit(RLIMIT_NOFILE, &g_child_nofile);
	cloexec_from_3();
	exec_search(s->argv, s->envp);
	fail(s, CHILD_EXEC);
}
