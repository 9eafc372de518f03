/* rt-init: PID 1 of every sandbox. See ../PROTOCOL.md for the wire protocol and behaviour.
 *
 * Module map: loop (epoll, timers), conn (framing, dispatch, queues), proc (processes),
 * child (fork-to-exec), files (file ops), relay (CONNECT), buf/wire (bytes and frames).
 * This file: command line, process-wide setup, the listening socket, signals and shutdown. */
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "child.h"
#include "conn.h"
#include "loop.h"
#include "proc.h"
#include "util.h"

#define SHUTDOWN_GRACE_MS 2000
#define ACCEPT_RETRY_MS 100

static struct watch listen_w, signal_w;
static struct timer accept_retry, shutdown_timer;
static int exit_pending;

static void relisten(void);

static void usage(void)
{
	fprintf(stderr, "usage: rt-init --socket PATH [--keep-output BYTES]\n");
	exit(2);
}

static void on_accept_retry(struct timer *t)
{
	(void)t;
	watch_set(&listen_w, EPOLLIN);
}

static void on_listen(struct watch *w, uint32_t ev)
{
	(void)ev;
	for (int i = 0; i < 64; i++) {
		int fd = accept4(w->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd >= 0) {
			conn_new(fd);
			continue;
		}
		if (errno == EINTR || errno == ECONNABORTED)
			continue;
		if (errno != EAGAIN) {
			/* Out of fds or memory: a level-triggered listener would spin, so back off. */
			logmsg("accept: %m");
			watch_unreg(w);
			timer_arm(&accept_retry, ACCEPT_RETRY_MS);
		}
		return;
	}
}

void shutdown_on_exit(void)
{
	if (!procs_live())
		exit_pending = 1;
}

static void on_shutdown_timer(struct timer *t)
{
	(void)t;
	exit_pending = 1;
}

static void shutdown_begin(void)
{
	if (g_shutting_down)
		return;
	g_shutting_down = 1;
	procs_signal_all(SIGTERM);
	shutdown_on_exit();
	timer_arm(&shutdown_timer, SHUTDOWN_GRACE_MS);
}

static void on_signal(struct watch *w, uint32_t ev)
{
	(void)ev;
	struct signalfd_siginfo si;
	int chld = 0, term = 0, hup = 0;
	while (read(w->fd, &si, sizeof si) == (ssize_t)sizeof si) {
		if (si.ssi_signo == SIGCHLD)
			chld = 1;
		else if (si.ssi_signo == SIGHUP)
			hup = 1;
		else
			term = 1;
	}
	if (hup && !g_shutting_down)
		relisten();
	if (chld)
		procs_reap();
	if (term)
		shutdown_begin();
}

static void after_batch(void)
{
	conns_service();
	if (exit_pending) {
		conns_flush_final();
		procs_signal_all(SIGKILL);
		exit(0);
	}
}

/* Pipes and sockets must never land on 0-2, or a child's dup2 onto its stdio could clobber
 * them; whoever started us may have closed some. */
static void ensure_std_fds(void)
{
	for (;;) {
		int fd = open("/dev/null", O_RDWR);
		if (fd < 0) {
			int p[2];
			if (pipe(p) < 0)
				die("no fds for stdio: %m");
			if (p[0] > 2)
				close(p[0]);
			if (p[1] > 2)
				close(p[1]);
			if (p[0] > 2 && p[1] > 2)
				return;
			continue;
		}
		if (fd > 2) {
			close(fd);
			return;
		}
	}
}

/* Returns the listening fd, or -1 with errno set (the message names the failing step). */
static int try_listen_on(const char *path, const char **step)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	if (strlen(path) >= sizeof a.sun_path) {
		*step = "socket path too long";
		errno = ENAMETOOLONG;
		return -1;
	}
	strcpy(a.sun_path, path);
	if (unlink(path) < 0 && errno != ENOENT) {
		*step = "unlink";
		return -1;
	}
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		*step = "socket";
		return -1;
	}
	/* Only the host's root (the engine) connects: 0600 keeps every other user of the host (a
	 * custom tool's runner, run as nobody, for one) and the sandbox's own non-root users out. The
	 * file belongs to the sandbox's root; the engine passes the check as root on the host. */
	if (bind(fd, (struct sockaddr *)&a, sizeof a) < 0 || listen(fd, 512) < 0 ||
	    chmod(path, 0600) < 0) {
		int e = errno;
		*step = "bind/listen/chmod";
		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

static int listen_on(const char *path)
{
	const char *step = "";
	int fd = try_listen_on(path, &step);
	if (fd < 0)
		die("%s %s: %m", step, path);
	return fd;
}

static const char *g_socket_path;

/* SIGHUP: listen again on a fresh socket file. A process in the sandbox may have deleted ours
 * (an `rm -rf` of /.rt/run); open connections keep working, but the host could not connect again. */
static void relisten(void)
{
	const char *step = "";
	int fd = try_listen_on(g_socket_path, &step);
	if (fd < 0) {
		logmsg("relisten: %s %s: %m", step, g_socket_path);
		return;
	}
	watch_close(&listen_w);
	watch_setfd(&listen_w, fd);
	watch_set(&listen_w, EPOLLIN);
}

int main(int argc, char **argv)
{
	const char *sock = NULL;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--socket") && i + 1 < argc) {
			sock = argv[++i];
		} else if (!strcmp(argv[i], "--keep-output") && i + 1 < argc) {
			char *end;
			errno = 0;
			unsigned long long v = strtoull(argv[++i], &end, 10);
			if (errno || end == argv[i] || *end || argv[i][0] == '-')
				usage();
			g_keep_output = (size_t)v;
		} else {
			usage();
		}
	}
	if (!sock)
		usage();

	/* Output rings can be up to --keep-output each: serve big blocks from mmap so that memory
	 * goes back to the kernel as soon as a record is forgotten. */
	mallopt(M_MMAP_THRESHOLD, 128 << 10);
	mallopt(M_TRIM_THRESHOLD, 128 << 10);
	mallopt(M_TOP_PAD, 16 << 10);

	ensure_std_fds();
	g_child_umask = umask(0);
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
		g_child_nofile = rl;
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}

	struct sigaction sa = {.sa_handler = SIG_IGN};
	sigaction(SIGPIPE, &sa, NULL);
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	/* Blocked signals are queued even for a pid namespace's init, which otherwise drops
	 * signals it has no handler for. */
	sigprocmask(SIG_BLOCK, &set, NULL);
	int sfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	if (sfd < 0)
		die("signalfd: %m");
	if (getpid() != 1 && prctl(PR_SET_CHILD_SUBREAPER, 1) < 0)
		logmsg("PR_SET_CHILD_SUBREAPER: %m");

	loop_init();
	timer_init(&accept_retry, on_accept_retry);
	timer_init(&shutdown_timer, on_shutdown_timer);
	watch_init(&signal_w, on_signal);
	watch_setfd(&signal_w, sfd);
	watch_set(&signal_w, EPOLLIN);
	watch_init(&listen_w, on_listen);
	g_socket_path = sock;
	watch_setfd(&listen_w, listen_on(sock));
	watch_set(&listen_w, EPOLLIN);

	procs_reap();
	loop_run(conns_busy, after_batch);
}
