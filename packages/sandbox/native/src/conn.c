#include "conn.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "files.h"
#include "proc.h"
#include "relay.h"
#include "util.h"
#include "wire.h"

/* Spec: a client whose queue exceeds this is disconnected (it can re-attach). */
#define OUT_LIMIT (32u << 20)
/* A streamed reply is continued only while less than this is queued. */
#define JOB_LOW (256u << 10)
/* Requests are not processed while this much output is queued: a client that sends but does
 * not read gets TCP-style backpressure instead of growing our memory. */
#define IN_PAUSE (4u << 20)
/* Fairness: at most this many frames / reads per connection per loop iteration. */
#define FRAMES_PER_TURN 64
#define READS_PER_TURN 4

struct conn *g_conns;
static int any_dirty;

static void on_conn(struct watch *w, uint32_t ev);

void conn_new(int fd)
{
	struct conn *c = xcalloc(1, sizeof *c);
	watch_init(&c->w, on_conn);
	watch_setfd(&c->w, fd);
	watch_set(&c->w, EPOLLIN);
	c->next = g_conns;
	if (g_conns)
		g_conns->prev = c;
	g_conns = c;
}

void conn_kick(struct conn *c)
{
	if (c->closed)
		return;
	c->dirty = 1;
	any_dirty = 1;
}

void conn_send(struct conn *c, const void *p, size_t n)
{
	if (c->closed || c->kill || c->wdead)
		return;
	if (c->out.len + n > OUT_LIMIT) {
		c->kill = 1;
		conn_kick(c);
		return;
	}
	outq_push(&c->out, p, n);
	conn_kick(c);
}

void conn_send_frame(struct conn *c)
{
	size_t n;
	const uint8_t *p = fb_finish(&n);
	conn_send(c, p, n);
}

void conn_ok(struct conn *c, uint32_t req)
{
	fb_begin(T_OK);
	fb_u32(req);
	conn_send_frame(c);
}

void conn_err(struct conn *c, uint32_t req, int err, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (n < 0)
		n = 0;
	if ((size_t)n >= sizeof msg)
		n = sizeof msg - 1;
	fb_begin(T_ERR);
	fb_u32(req);
	fb_u32((uint32_t)err);
	fb_str(msg, (size_t)n);
	conn_send_frame(c);
}

void conn_fail(struct conn *c)
{
	c->kill = 1;
	conn_kick(c);
}

void conn_start_job(struct conn *c, struct job *j)
{
	c->job = j;
	conn_kick(c);
}

static void job_end(struct conn *c)
{
	struct job *j = c->job;
	c->job = NULL;
	j->free(j);
}

static void conn_close(struct conn *c)
{
	if (c->closed)
		return;
	c->closed = 1;
	if (c->prev)
		c->prev->next = c->next;
	else
		g_conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	watch_close(&c->w);
	buf_free(&c->in);
	outq_clear(&c->out);
	if (c->job)
		job_end(c);
	files_conn_gone(c);
	if (c->pconn)
		relay_abort(c);
	procs_conn_gone(c);
	defer_free(c);
}

int conn_steal(struct conn *c, struct outq *out, struct buf *in, int *rd_eof)
{
	int fd = watch_take(&c->w);
	outq_move(out, &c->out);
	*in = c->in;
	memset(&c->in, 0, sizeof c->in);
	*rd_eof = c->rd_eof;
	conn_close(c);
	return fd;
}

/* Reads what the socket has; max_reads < 0 reads to EOF (the peer is gone, so it is bounded by
 * what is left in the socket buffer). */
static void conn_read(struct conn *c, int max_reads)
{
	for (int i = 0; max_reads < 0 || i < max_reads; i++) {
		ssize_t n = read(c->w.fd, g_scratch, sizeof g_scratch);
		if (n > 0) {
			buf_append(&c->in, g_scratch, (size_t)n);
			/* Size the buffer for the whole frame once its length is known, instead of
			 * doubling past it (a 16 MiB frame would otherwise take 32 MiB). */
			if (c->in.len >= 4) {
				uint32_t len = le32(c->in.d);
				if (len <= MAX_FRAME && c->in.len < 4 + (size_t)len)
					buf_reserve(&c->in, 4 + (size_t)len - c->in.len);
			}
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		c->rd_eof = 1;
		if (n < 0)
			c->wdead = 1;
		return;
	}
}

static void on_conn(struct watch *w, uint32_t ev)
{
	struct conn *c = container_of(w, struct conn, w);
	int hup = (ev & (EPOLLHUP | EPOLLERR)) != 0;
	if (!c->rd_eof && (ev & EPOLLIN || hup))
		conn_read(c, hup ? -1 : READS_PER_TURN);
	if (hup) {
		/* The peer is fully gone: keep its last requests (e.g. STDIN then STDIN_CLOSE, or a
		 * WRITE_CLOSE) but stop replying. */
		c->rd_eof = 1;
		c->wdead = 1;
	}
	conn_kick(c);
}

static int conn_paused(const struct conn *c)
{
	return c->job || c->pconn || c->stdin_wait_pid || c->kill ||
	       (!c->wdead && c->out.len > IN_PAUSE);
}

static int has_frame(const struct conn *c)
{
	if (c->in.len < 4)
		return 0;
	uint32_t len = le32(c->in.d);
	/* A bad length is "a frame" too: handling it closes the connection. */
	return len == 0 || len > MAX_FRAME || c->in.len - 4 >= len;
}

static void dispatch(struct conn *c, uint8_t type, struct rd *r)
{
	switch (type) {
	case T_SPAWN: proc_spawn(c, r); break;
	case T_STDIN: proc_stdin(c, r); break;
	case T_STDIN_CLOSE: proc_stdin_close(c, r); break;
	case T_SIGNAL: proc_signal(c, r); break;
	case T_ATTACH: proc_attach(c, r); break;
	case T_DETACH: proc_detach(c, r); break;
	case T_LIST: proc_list(c, r); break;
	case T_FORGET: proc_forget(c, r); break;
	case T_PING: {
		uint32_t req = rd_u32(r);
		if (r->bad)
			conn_fail(c);
		else
			conn_ok(c, req);
		break;
	}
	case T_CONNECT: relay_connect(c, r); break;
	case T_RESIZE: proc_resize(c, r); break;
	case T_READ: files_read(c, r); break;
	case T_WRITE_OPEN: files_write_open(c, r); break;
	case T_WRITE_DATA: files_write_data(c, r); break;
	case T_WRITE_CLOSE: files_write_close(c, r); break;
	case T_STAT: files_stat(c, r); break;
	case T_LISTDIR: files_listdir(c, r); break;
	case T_MKDIR: files_mkdir(c, r); break;
	case T_REMOVE: files_remove(c, r); break;
	case T_RENAME: files_rename(c, r); break;
	default: {
		uint32_t req = rd_u32(r);
		if (r->bad)
			conn_fail(c);
		else
			conn_err(c, req, EINVAL, "unknown frame type 0x%02x", type);
	}
	}
}

/* Handles complete frames. Returns 1 if it stopped with frames left (fairness budget). */
static int conn_frames(struct conn *c)
{
	size_t pos = 0;
	int n = 0, more = 0;
	while (!conn_paused(c)) {
		size_t avail = c->in.len - pos;
		if (avail < 4)
			break;
		uint32_t len = le32(c->in.d + pos);
		if (len == 0 || len > MAX_FRAME) {
			conn_fail(c);
			break;
		}
		if (avail - 4 < len)
			break;
		if (n++ == FRAMES_PER_TURN) {
			more = 1;
			break;
		}
		struct rd r = {c->in.d + pos + 5, len - 1, 0};
		uint8_t type = c->in.d[pos + 4];
		pos += 4 + (size_t)len;
		/* Handlers never free c or touch c->in: closing goes through kill, the relay
		 * hand-over happens later from the relay's own event. */
		dispatch(c, type, &r);
	}
	buf_consume(&c->in, pos);
	return more;
}

static void conn_write(struct conn *c)
{
	if (c->wdead) {
		outq_clear(&c->out);
		return;
	}
	while (c->out.len) {
		if (outq_write(&c->out, c->w.fd) < 0) {
			if (errno != EAGAIN) {
				c->wdead = 1;
				outq_clear(&c->out);
			}
			return;
		}
	}
}

static int conn_finished(const struct conn *c)
{
	return c->rd_eof && !c->job && !c->pconn && !c->stdin_wait_pid && !has_frame(c) &&
	       (c->wdead || !c->out.len);
}

static int conn_can_progress(const struct conn *c)
{
	return (c->job && c->out.len < JOB_LOW) || (!conn_paused(c) && has_frame(c));
}

static void conn_service(struct conn *c)
{
	c->dirty = 0;
	for (int round = 0; round < 8; round++) {
		int more = 0;
		if (c->job && c->wdead)
			job_end(c); /* nobody will read the rest */
		if (c->job && c->out.len < JOB_LOW) {
			if (c->job->pump(c, c->job))
				job_end(c);
			more = 1;
		}
		if (!conn_paused(c))
			more |= conn_frames(c);
		if (c->closed || c->kill)
			break;
		conn_write(c);
		if (!more || (c->out.len >= JOB_LOW && !c->wdead))
			break;
	}
	if (c->closed)
		return;
	if (c->kill || conn_finished(c)) {
		conn_close(c);
		return;
	}
	if (c->rd_eof && c->wdead) {
		/* Nothing left to wait for from the socket; stop level-triggered HUP reports. */
		watch_unreg(&c->w);
	} else {
		uint32_t ev = 0;
		if (!c->rd_eof && !conn_paused(c))
			ev |= EPOLLIN;
		if (c->out.len)
			ev |= EPOLLOUT;
		watch_set(&c->w, ev);
	}
	if (conn_can_progress(c))
		conn_kick(c);
}

int conns_busy(void) { return any_dirty; }

void conns_service(void)
{
	if (!any_dirty)
		return;
	any_dirty = 0;
	struct conn *next;
	for (struct conn *c = g_conns; c; c = next) {
		next = c->next;
		if (c->dirty && !c->closed)
			conn_service(c);
	}
	fb_trim();
}

void conns_flush_final(void)
{
	for (struct conn *c = g_conns; c; c = c->next)
		if (!c->wdead && !c->closed)
			outq_write(&c->out, c->w.fd);
}
