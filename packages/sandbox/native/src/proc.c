#include "proc.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "buf.h"
#include "child.h"
#include "conn.h"
#include "loop.h"
#include "util.h"

#define F_KEEP_STDIN 1u
#define F_ATTACH 2u
#define F_MERGE_STDERR 4u
/* The process runs on a new pseudo-terminal: its output is the terminal's (stream 1), STDIN
 * is typed on it, RESIZE sets its window size. Implies KEEP_STDIN and MERGE_STDERR. */
#define F_PTY 8u

#define MAX_EXITED 256
/* STDIN backpressure: the sending connection pauses above HIGH and resumes below LOW. */
#define STDIN_HIGH (8u << 20)
#define STDIN_LOW (1u << 20)
/* At reap, how much is read from a pipe that a surviving grandchild may keep filling. */
#define FINAL_DRAIN (4u << 20)

size_t g_keep_output = 1u << 20;
int g_shutting_down;

enum { P_STARTING, P_RUNNING, P_EXITED };

struct proc;

struct stream {
	struct watch w; /* read end of the pipe; -1 when merged, finished or closed */
	struct ring r;
	struct proc *p;
	uint8_t id; /* 1 = stdout, 2 = stderr */
};

struct proc {
	struct proc *next, *prev;
	pid_t pid;
	int state;
	uint32_t flags;
	struct stream out, err;
	struct watch in; /* write end of the stdin pipe */
	struct outq inq;
	int pty; /* the terminal's master side (for RESIZE), or -1 */
	int in_close; /* STDIN_CLOSE received: close once inq is written */
	struct watch execw; /* CLOEXEC pipe: EOF = exec succeeded, 8 bytes = failure */
	struct conn *spawner;
	uint32_t spawn_req;
	char *cwd; /* for the chdir error message; freed once running */
	int reaped, wstatus, timed_out;
	struct timer tmo;
	uint64_t started_ms, exit_seq;
	int32_t exit_code, sig;
	char **argv; /* one allocation: pointers then strings */
	uint32_t argc;
	struct conn **att;
	uint32_t natt, catt;
};

static struct proc *procs, *procs_tail;
static unsigned nexited;
static uint64_t exit_seq;

static struct proc *proc_find(uint32_t pid)
{
	for (struct proc *p = procs; p; p = p->next)
		if ((uint32_t)p->pid == pid && p->state != P_STARTING)
			return p;
	return NULL;
}

/* ---- attachments ---- */

static int att_index(struct proc *p, struct conn *c)
{
	for (uint32_t i = 0; i < p->natt; i++)
		if (p->att[i] == c)
			return (int)i;
	return -1;
}

static void att_add(struct proc *p, struct conn *c)
{
	if (att_index(p, c) >= 0)
		return;
	if (p->natt == p->catt) {
		p->catt = p->catt ? p->catt * 2 : 2;
		p->att = xrealloc(p->att, p->catt * sizeof *p->att);
	}
	p->att[p->natt++] = c;
}

static void att_del(struct proc *p, struct conn *c)
{
	int i = att_index(p, c);
	if (i >= 0)
		p->att[i] = p->att[--p->natt];
}

static void att_clear(struct proc *p)
{
	free(p->att);
	p->att = NULL;
	p->natt = p->catt = 0;
}

static void broadcast(struct proc *p)
{
	size_t n;
	const uint8_t *f = fb_finish(&n);
	for (uint32_t i = 0; i < p->natt; i++)
		conn_send(p->att[i], f, n);
}

/* ---- output ---- */

static void stream_output(struct stream *s, const uint8_t *d, size_t n)
{
	struct proc *p = s->p;
	uint64_t off = s->r.total;
	ring_append(&s->r, d, n, g_keep_output);
	if (!p->natt)
		return;
	fb_begin(T_OUT);
	fb_u32((uint32_t)p->pid);
	fb_u8(s->id);
	fb_u64(off);
	fb_raw(d, n);
	broadcast(p);
}

/* Reads up to budget bytes; closes the pipe at EOF or error. */
static void stream_read(struct stream *s, size_t budget)
{
	while (s->w.fd >= 0 && budget) {
		ssize_t n = read(s->w.fd, g_scratch, MIN(budget, (size_t)OUT_CHUNK));
		if (n > 0) {
			stream_output(s, g_scratch, (size_t)n);
			budget -= (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		watch_close(&s->w);
	}
}

static void on_stream(struct watch *w, uint32_t ev)
{
	(void)ev;
	/* Bounded per event so one chatty process cannot starve the others. */
	stream_read(container_of(w, struct stream, w), 4 * OUT_CHUNK);
}

static void replay(struct conn *c, struct proc *p, struct stream *s, uint64_t from)
{
	uint64_t off = MAX(from, ring_oldest(&s->r));
	while (off < s->r.total) {
		fb_begin(T_OUT);
		fb_u32((uint32_t)p->pid);
		fb_u8(s->id);
		fb_u64(off);
		uint8_t *d = fb_reserve(OUT_CHUNK);
		size_t n = ring_copy(&s->r, off, d, OUT_CHUNK);
		fb_unreserve(OUT_CHUNK - n);
		conn_send_frame(c);
		off += n;
	}
}

static void send_exit(struct conn *c, struct proc *p)
{
	fb_begin(T_EXIT);
	fb_u32((uint32_t)p->pid);
	fb_u32((uint32_t)p->exit_code);
	fb_u32((uint32_t)p->sig);
	fb_u8((uint8_t)p->timed_out);
	if (c)
		conn_send_frame(c);
	else
		broadcast(p);
}

/* ---- stdin ---- */

static void stdin_unblock(struct proc *p)
{
	for (struct conn *c = g_conns; c; c = c->next)
		if (c->stdin_wait_pid == (uint32_t)p->pid) {
			c->stdin_wait_pid = 0;
			conn_kick(c);
		}
}

static void stdin_close(struct proc *p)
{
	watch_close(&p->in);
	outq_clear(&p->inq);
	stdin_unblock(p);
}

static void stdin_flush(struct proc *p)
{
	while (p->inq.len) {
		if (outq_write(&p->inq, p->in.fd) < 0) {
			if (errno == EAGAIN)
				break;
			stdin_close(p); /* EPIPE: the process closed its stdin */
			return;
		}
	}
	if (!p->inq.len && p->in_close) {
		stdin_close(p);
		return;
	}
	watch_set(&p->in, p->inq.len ? EPOLLOUT : 0);
	if (p->inq.len < STDIN_LOW)
		stdin_unblock(p);
}

static void on_stdin(struct watch *w, uint32_t ev)
{
	struct proc *p = container_of(w, struct proc, in);
	if (ev & EPOLLERR)
		stdin_close(p); /* no reader left */
	else
		stdin_flush(p);
}

/* ---- lifecycle ---- */

static void proc_free(struct proc *p)
{
	if (p->prev)
		p->prev->next = p->next;
	else
		procs = p->next;
	if (p->next)
		p->next->prev = p->prev;
	else
		procs_tail = p->prev;
	if (p->state == P_EXITED)
		nexited--;
	watch_close(&p->out.w);
	watch_close(&p->err.w);
	watch_close(&p->execw);
	stdin_close(p);
	if (p->pty >= 0)
		close(p->pty);
	timer_cancel(&p->tmo);
	ring_free(&p->out.r);
	ring_free(&p->err.r);
	free(p->argv);
	free(p->cwd);
	att_clear(p);
	defer_free(p);
}

static void evict_exited(void)
{
	while (nexited > MAX_EXITED) {
		struct proc *old = NULL;
		for (struct proc *p = procs; p; p = p->next)
			if (p->state == P_EXITED && (!old || p->exit_seq < old->exit_seq))
				old = p;
		proc_free(old);
	}
}

/* The group leader has been reaped: deliver what is left of its output, then EXIT. */
static void proc_finish(struct proc *p)
{
	timer_cancel(&p->tmo);
	stream_read(&p->out, FINAL_DRAIN);
	stream_read(&p->err, FINAL_DRAIN);
	/* Closing the pipes makes a background grandchild that still writes get EPIPE. */
	watch_close(&p->out.w);
	watch_close(&p->err.w);
	stdin_close(p);
	if (WIFEXITED(p->wstatus)) {
		p->exit_code = WEXITSTATUS(p->wstatus);
		p->sig = 0;
	} else {
		p->exit_code = -1;
		p->sig = WIFSIGNALED(p->wstatus) ? WTERMSIG(p->wstatus) : 0;
	}
	p->state = P_EXITED;
	p->exit_seq = ++exit_seq;
	nexited++;
	ring_compact(&p->out.r);
	ring_compact(&p->err.r);
	send_exit(NULL, p);
	att_clear(p);
	evict_exited();
	if (g_shutting_down)
		shutdown_on_exit();
}

static const char *stage_name(int stage)
{
	switch (stage) {
	case CHILD_STDIO: return "stdio";
	case CHILD_CHDIR: return "chdir";
	case CHILD_SETGROUPS: return "setgroups";
	case CHILD_SETGID: return "setgid";
	case CHILD_SETUID: return "setuid";
	default: return "exec";
	}
}

static void on_exec_result(struct watch *w, uint32_t ev)
{
	(void)ev;
	struct proc *p = container_of(w, struct proc, execw);
	struct child_failure f;
	ssize_t n;
	do
		n = read(w->fd, &f, sizeof f);
	while (n < 0 && errno == EINTR);
	if (n < 0 && errno == EAGAIN)
		return;
	watch_close(w);
	if (n == (ssize_t)sizeof f) {
		if (p->spawner) {
			const char *what = f.stage == CHILD_CHDIR ? (p->cwd[0] ? p->cwd : "/")
			                   : f.stage == CHILD_EXEC ? p->argv[0]
			                                           : NULL;
			if (what)
				conn_err(p->spawner, p->spawn_req, f.err, "%s %s: %s",
				         stage_name(f.stage), what, strerror(f.err));
			else
				conn_err(p->spawner, p->spawn_req, f.err, "%s: %s", stage_name(f.stage),
				         strerror(f.err));
		}
		/* No record is kept; the zombie is reaped (and ignored) by procs_reap. */
		proc_free(p);
		return;
	}
	/* EOF: the CLOEXEC end was closed by a successful exec. */
	p->state = P_RUNNING;
	free(p->cwd);
	p->cwd = NULL;
	if (p->spawner) {
		fb_begin(T_SPAWNED);
		fb_u32(p->spawn_req);
		fb_u32((uint32_t)p->pid);
		conn_send_frame(p->spawner);
		if (p->flags & F_ATTACH)
			att_add(p, p->spawner);
		p->spawner = NULL;
	}
	watch_set(&p->out.w, EPOLLIN);
	watch_set(&p->err.w, EPOLLIN);
	watch_set(&p->in, 0); /* EPOLLERR tells us when the reader is gone */
	if (p->reaped)
		proc_finish(p);
}

static void on_timeout(struct timer *t)
{
	struct proc *p = container_of(t, struct proc, tmo);
	p->timed_out = 1;
	kill(-p->pid, SIGKILL);
	/* Right after fork the child may not have called setsid yet. */
	kill(p->pid, SIGKILL);
}

void procs_reap(void)
{
	for (;;) {
		int st;
		pid_t pid = waitpid(-1, &st, WNOHANG);
		if (pid <= 0) {
			if (pid < 0 && errno == EINTR)
				continue;
			return;
		}
		struct proc *p;
		for (p = procs; p; p = p->next)
			if (p->pid == pid && p->state != P_EXITED)
				break;
		if (!p || p->reaped)
			continue;
		p->reaped = 1;
		p->wstatus = st;
		/* While STARTING, the exec result decides between ERR and SPAWNED + EXIT. */
		if (p->state == P_RUNNING)
			proc_finish(p);
	}
}

/* ---- requests ---- */

/* Parses n str entries into one NULL-terminated vector (pointers followed by the strings).
 * Returns NULL if the payload is short or an entry contains NUL. */
static char **parse_strv(struct rd *r, uint32_t n)
{
	if (n > r->n / 4) {
		r->bad = 1;
		return NULL;
	}
	struct rd probe = *r;
	size_t total = 0;
	for (uint32_t i = 0; i < n; i++) {
		const uint8_t *s;
		uint32_t len = rd_str(&probe, &s);
		if (probe.bad || str_has_nul(s, len)) {
			r->bad = 1;
			return NULL;
		}
		total += (size_t)len + 1;
	}
	char **v = xmalloc(((size_t)n + 1) * sizeof *v + total);
	char *dst = (char *)(v + n + 1);
	for (uint32_t i = 0; i < n; i++) {
		const uint8_t *s;
		uint32_t len = rd_str(r, &s);
		v[i] = dst;
		memcpy(dst, s, len);
		dst[len] = 0;
		dst += len + 1;
	}
	v[n] = NULL;
	return v;
}

static void close_pair(int fds[2])
{
	for (int i = 0; i < 2; i++)
		if (fds[i] >= 0) {
			close(fds[i]);
			fds[i] = -1;
		}
}

void proc_spawn(struct conn *c, struct rd *r)
{
	uint32_t req = rd_u32(r);
	if (r->bad) {
		conn_fail(c);
		return;
	}
	uint32_t timeout = rd_u32(r), flags = rd_u32(r), uid = rd_u32(r), gid = rd_u32(r);
	const uint8_t *cwd_s;
	uint32_t cwd_n = rd_str(r, &cwd_s);
	uint32_t argc = rd_u32(r);
	char **argv = r->bad ? NULL : parse_strv(r, argc);
	uint32_t envc = rd_u32(r);
	char **envp = r->bad ? NULL : parse_strv(r, envc);
	if (r->bad || argc == 0 || str_has_nul(cwd_s, cwd_n)) {
		free(argv);
		free(envp);
		conn_err(c, req, EINVAL, "SPAWN: malformed payload");
		return;
	}
	if (g_shutting_down) {
		free(argv);
		free(envp);
		conn_err(c, req, ESHUTDOWN, "rt-init is shutting down");
		return;
	}

	int outp[2] = {-1, -1}, errp[2] = {-1, -1}, inp[2] = {-1, -1}, exp[2] = {-1, -1};
	int pty = -1;
	char slave[64] = "";
	const char *what = "pipe";
	if (flags & F_PTY) {
		flags |= F_KEEP_STDIN | F_MERGE_STDERR;
		what = "pty";
		/* The sandbox's own devpts instance: the terminal is the sandbox's, checkpointed with it. */
		pty = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
		struct winsize ws = {.ws_row = 24, .ws_col = 80};
		if (pty < 0 || grantpt(pty) < 0 || unlockpt(pty) < 0 ||
		    ptsname_r(pty, slave, sizeof slave) != 0 || ioctl(pty, TIOCSWINSZ, &ws) < 0)
			goto fail;
		/* One description, three fds: output watch, input watch, and the one RESIZE uses. */
		outp[0] = fcntl(pty, F_DUPFD_CLOEXEC, 3);
		inp[1] = fcntl(pty, F_DUPFD_CLOEXEC, 3);
		if (outp[0] < 0 || inp[1] < 0)
			goto fail;
		what = "pipe";
		if (pipe2(exp, O_CLOEXEC) < 0)
			goto fail;
	} else if (pipe2(outp, O_CLOEXEC) < 0 ||
		   (!(flags & F_MERGE_STDERR) && pipe2(errp, O_CLOEXEC) < 0) ||
		   ((flags & F_KEEP_STDIN) && pipe2(inp, O_CLOEXEC) < 0) || pipe2(exp, O_CLOEXEC) < 0)
		goto fail;

	struct child_spec spec = {
		.stdin_fd = inp[0],
		.stdout_fd = outp[1],
		.stderr_fd = (flags & F_MERGE_STDERR) ? outp[1] : errp[1],
		.report_fd = exp[1],
		.cwd = xmemdup0(cwd_s, cwd_n),
		.uid = uid,
		.gid = gid,
		.argv = argv,
		.envp = envp,
		.pty_slave = pty >= 0 ? slave : NULL,
	};
	pid_t pid = fork();
	if (pid == 0)
		child_exec(&spec); /* never returns */
	if (pid < 0) {
		free(spec.cwd);
		what = "fork";
		goto fail;
	}
	free(envp);
	if (outp[1] >= 0)
		close(outp[1]);
	if (errp[1] >= 0)
		close(errp[1]);
	if (inp[0] >= 0)
		close(inp[0]);
	close(exp[1]);
	fd_set_nonblock(outp[0]);
	if (errp[0] >= 0)
		fd_set_nonblock(errp[0]);
	if (inp[1] >= 0)
		fd_set_nonblock(inp[1]);
	fd_set_nonblock(exp[0]);

	/* The pid names the process in the protocol: an exited record whose pid the kernel has
	 * reused is unreachable from now on, so drop it. */
	for (struct proc *q = procs, *qn; q; q = qn) {
		qn = q->next;
		if (q->pid == pid && q->state == P_EXITED)
			proc_free(q);
	}
	struct proc *p = xcalloc(1, sizeof *p);
	p->pid = pid;
	p->pty = pty;
	p->state = P_STARTING;
	p->flags = flags;
	p->started_ms = real_ms();
	p->argv = argv;
	p->argc = argc;
	p->cwd = spec.cwd;
	p->spawner = c;
	p->spawn_req = req;
	struct stream *ss[2] = {&p->out, &p->err};
	int rfd[2] = {outp[0], errp[0]};
	for (int i = 0; i < 2; i++) {
		watch_init(&ss[i]->w, on_stream);
		watch_setfd(&ss[i]->w, rfd[i]);
		ss[i]->p = p;
		ss[i]->id = (uint8_t)(i + 1);
	}
	watch_init(&p->in, on_stdin);
	watch_setfd(&p->in, inp[1]);
	watch_init(&p->execw, on_exec_result);
	watch_setfd(&p->execw, exp[0]);
	watch_set(&p->execw, EPOLLIN);
	timer_init(&p->tmo, on_timeout);
	if (timeout)
		timer_arm(&p->tmo, timeout);
	p->prev = procs_tail;
	if (procs_tail)
		procs_tail->next = p;
	else
		procs = p;
	procs_tail = p;
	return;

fail:;
	int e = errno;
	close_pair(outp);
	close_pair(errp);
	close_pair(inp);
	close_pair(exp);
	if (pty >= 0)
		close(pty);
	free(argv);
	free(envp);
	conn_err(c, req, e, "%s: %s", what, strerror(e));
}

void proc_resize(struct conn *c, struct rd *r)
{
	uint32_t req = rd_u32(r);
	if (r->bad) {
		conn_fail(c);
		return;
	}
	uint32_t pid = rd_u32(r), rows = rd_u32(r), cols = rd_u32(r);
	if (r->bad || rows == 0 || cols == 0 || rows > 10000 || cols > 10000) {
		conn_err(c, req, EINVAL, "RESIZE: malformed payload");
		return;
	}
	struct proc *p = proc_find(pid);
	if (!p) {
		conn_err(c, req, ESRCH, "no process %u", pid);
		return;
	}
	if (p->pty < 0) {
		conn_err(c, req, ENOTTY, "process %u has no terminal", pid);
		return;
	}
	struct winsize ws = {.ws_row = (unsigned short)rows, .ws_col = (unsigned short)cols};
	if (ioctl(p->pty, TIOCSWINSZ, &ws) < 0) {
		conn_err(c, req, errno, "resize: %s", strerror(errno));
		return;
	}
	conn_ok(c, req);
}

void proc_stdin(struct conn *c, struct rd *r)
{
	uint32_t pid = rd_u32(r);
	if (r->bad) {
		conn_fail(c);
		return;
	}
	struct proc *p = proc_find(pid);
	if (!p || p->state != P_RUNNING || p->in.fd < 0 || p->in_close || !r->n)
		return;
	outq_push(&p->inq, r->p, r->n);
	stdin_flush(p);
	if (p->in.fd >= 0 && p->inq.len > STDIN_HIGH)
		c->stdin_wait_pid = pid;
}

void proc_stdin_close(struct conn *c, struct rd *r)
{
	uint32_t pid = rd_u32(r);
	if (r->bad) {
		conn_fail(c);
		return;
	}
	struct proc *p = proc_find(pid);
	if (!p || p->state != P_RUNNING || p->in.fd < 0)
		return;
	p->in_close = 1;
	stdin_flush(p);
}

void proc_signal(struct conn *c, struct rd *r)
{
	uint32_t req = rd_u32(r);
	if (r->bad) {
		conn_fail(c);
		return;
	}
	uint32_t pid = rd_u32(r), sig = rd_u32(r);
	if (r->bad) {
		conn_err(c, req, EINVAL, "SIGNAL: malformed payload");
		return;
	}
	if (sig > 64) {
		conn_err(c, req, EINVAL, "invalid signal %u", sig);
		return;
	}
	/*
	 * kill() succeeds on a zombie: reap what has died but whose SIGCHLD is still queued, so a
	 * group whose members have all exited is not reported as alive.
	 */
	procs_reap();
	struct proc *p = proc_find(pid);
	if (p && p->state != P_RUNNING) {
		/*
		 * The leader exited but what it started in the background may live on (a fork bomb,
		 * a daemon): its process group still answers. The pgid cannot be reused while any
		 * member lives, so this reaches only what that command started.
		 */
		if (kill(-p->pid, (int)sig) == 0) {
			conn_ok(c, req);
			return;
		}
		p = NULL;
	}
	if (!p) {
		conn_err(c, req, ESRCH, "process %u is not running", pid);
		return;
	}
	if (kill(-p->pid, (int)sig) < 0 && (errno != ESRCH || kill(p->pid, (int)sig) < 0)) {
		int e = errno;
		conn_err(c, req, e, "kill %u: %s", pid, strerror(e));
		return;
	}
	conn_ok(c, req);
}

void proc_attach(struct conn *c, struct rd *r)
{
	uint32_t req = rd_u32(r);
	if (r->bad) {
		conn_fail(c);
		return;
	}
	uint32_t pid = rd_u32(r);
	uint64_t out_off = rd_u64(r), err_off = rd_u64(r);
	if (r->bad) {
		conn_err(c, req, EINVAL, "ATTACH: malformed payload");
		return;
	}
	struct proc *p = proc_find(pid);
	if (!p) {
		conn_err(c, req, ESRCH, "no process %u", pid);
		return;
	}
	conn_ok(c, req);
	replay(c, p, &p->out, out_off);
	replay(c, p, &p->err, err_off);
	if (p->state == P_EXITED)
		send_exit(c, p);
	else
		att_add(p, c);
}

void proc_detach(struct conn *c, struct rd *r)
{
	uint32_t req = rd_u32(r);
	if (r->bad) {
		conn_fail(c);
		return;
	}
	uint32_t pid = rd_u32(r);
	if (r->bad) {
		conn_err(c, req, EINVAL, "DETACH: malformed payload");
		return;
	}
	struct proc *p = proc_find(pid);
	if (p)
		att_del(p, c);
	conn_ok(c, req);
}

/* LIST must fit one frame: if the argv of every process does not fit, later entries get a
 * shortened argv (first 16 args, 256 bytes each), and then none. */
#define LIST_LIMIT (MAX_FRAME - 4096)

static size_t argv_size(const struct proc *p, uint32_t maxc, size_t maxlen)
{
	size_t n = 4;
	for (uint32_t i = 0; i < p->argc && i < maxc; i++)
		n += 4 + MIN(strlen(p->argv[i]), maxlen);
	return n;
}

void proc_list(struct conn *c, struct rd *r)
{
	uint32_t req = rd_u32(r);
	if (r->bad) {
		conn_fail(c);
		return;
	}
	fb_begin(T_PROCS);
	fb_u32(req);
	size_t at = fb_size();
	fb_u32(0);
	uint32_t n = 0;
	for (struct proc *p = procs; p; p = p->next) {
		if (p->state == P_STARTING)
			continue;
		n++;
		int running = p->state == P_RUNNING;
		fb_u32((uint32_t)p->pid);
		fb_u8((uint8_t)running);
		fb_u32((uint32_t)(running ? 0 : p->exit_code));
		fb_u32((uint32_t)(running ? 0 : p->sig));
		fb_u64(p->started_ms);
		fb_u64(p->out.r.total);
		fb_u64(p->err.r.total);
		uint32_t maxc = UINT32_MAX;
		size_t maxlen = SIZE_MAX;
		if (fb_size() + argv_size(p, maxc, maxlen) > LIST_LIMIT) {
			maxc = 16;
			maxlen = 256;
			if (fb_size() + argv_size(p, maxc, maxlen) > LIST_LIMIT)
				maxc = 0;
		}
		uint32_t k = MIN(p->argc, maxc);
		fb_u32(k);
		for (uint32_t i = 0; i < k; i++)
			fb_str(p->argv[i], MIN(strlen(p->argv[i]), maxlen));
	}
	fb_patch_u32(at, n);
	conn_send_frame(c);
}

void proc_forget(struct conn *c, struct rd *r)
{
	uint32_t req = rd_u32(r);
	if (r->bad) {
		conn_fail(c);
		return;
	}
	uint32_t pid = rd_u32(r);
	if (r->bad) {
		conn_err(c, req, EINVAL, "FORGET: malformed payload");
		return;
	}
	struct proc *p = proc_find(pid);
	if (!p) {
		conn_err(c, req, ESRCH, "no process %u", pid);
		return;
	}
	if (p->state != P_EXITED) {
		conn_err(c, req, EBUSY, "process %u is still running", pid);
		return;
	}
	proc_free(p);
	conn_ok(c, req);
}

void procs_conn_gone(struct conn *c)
{
	for (struct proc *p = procs; p; p = p->next) {
		att_del(p, c);
		if (p->spawner == c)
			p->spawner = NULL;
	}
}

int procs_signal_all(int sig)
{
	int live = 0;
	for (struct proc *p = procs; p; p = p->next) {
		kill(-p->pid, sig);
		if (p->state != P_EXITED) {
			kill(p->pid, sig);
			live++;
		}
	}
	return live;
}

int procs_live(void)
{
	int live = 0;
	for (struct proc *p = procs; p; p = p->next)
		live += p->state != P_EXITED;
	return live;
}
