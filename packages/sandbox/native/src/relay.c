#include "relay.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "buf.h"
#include "conn.h"
#include "loop.h"
#include "util.h"

#define CONNECT_TIMEOUT_MS 5000
/* A side is not read while the other side has this much queued. */
#define RELAY_HIGH (256u << 10)

struct pconnect {
	struct watch w;
	struct timer t;
	struct conn *c;
	uint32_t req;
	uint16_t port;
	int next_family; /* 0: 127.0.0.1, 1: [::1], 2: none left */
	int err, refused;
};

struct relay;

struct rend {
	struct watch w;
	struct outq q; /* bytes waiting to be written to this side */
	struct relay *rl;
	unsigned rd_eof : 1;  /* this side will send nothing more */
	unsigned wr_shut : 1; /* we sent it our FIN */
	unsigned dead : 1;    /* it can receive nothing more; q is dropped */
};

struct relay {
	struct rend e[2]; /* 0: the client's unix connection, 1: the TCP socket */
};

/* ---- relaying ---- */

static void relay_update(struct relay *rl);

static struct rend *other(struct rend *e) { return e == &e->rl->e[0] ? &e->rl->e[1] : &e->rl->e[0]; }

static void rend_kill(struct rend *e)
{
	e->dead = 1;
	e->rd_eof = 1;
	outq_clear(&e->q);
}

static void rend_read(struct rend *e, int hup)
{
	struct rend *o = other(e);
	for (int i = 0; i < 4 && !e->rd_eof && !o->dead && o->q.len < RELAY_HIGH; i++) {
		ssize_t n = read(e->w.fd, g_scratch, sizeof g_scratch);
		if (n > 0) {
			outq_push(&o->q, g_scratch, (size_t)n);
		} else if (n == 0) {
			e->rd_eof = 1;
		} else if (errno == EINTR) {
			i--;
		} else if (errno == EAGAIN) {
			break;
		} else {
			rend_kill(e);
		}
	}
	/* After a hang-up, once its data is read, the peer can take nothing more either. */
	if (hup && e->rd_eof)
		rend_kill(e);
}

static void rend_write(struct rend *e)
{
	while (e->q.len && !e->dead) {
		if (outq_write(&e->q, e->w.fd) < 0) {
			if (errno != EAGAIN)
				rend_kill(e);
			return;
		}
	}
}

static void on_rend(struct watch *w, uint32_t ev)
{
	struct rend *e = container_of(w, struct rend, w);
	if (ev & EPOLLERR)
		rend_kill(e);
	if (ev & EPOLLOUT)
		rend_write(e);
	if (ev & (EPOLLIN | EPOLLHUP))
		rend_read(e, (ev & EPOLLHUP) != 0);
	relay_update(e->rl);
}

/* Nothing more can move from src to dst. */
static int direction_done(const struct rend *src, const struct rend *dst)
{
	return dst->dead || (src->rd_eof && !dst->q.len);
}

static void relay_update(struct relay *rl)
{
	for (int i = 0; i < 2; i++)
		rend_write(&rl->e[i]);
	for (int i = 0; i < 2; i++) {
		struct rend *src = &rl->e[i], *dst = &rl->e[1 - i];
		if (src->rd_eof && !dst->q.len && !dst->wr_shut && !dst->dead) {
			shutdown(dst->w.fd, SHUT_WR);
			dst->wr_shut = 1;
		}
	}
	if (direction_done(&rl->e[0], &rl->e[1]) && direction_done(&rl->e[1], &rl->e[0])) {
		for (int i = 0; i < 2; i++) {
			watch_close(&rl->e[i].w);
			outq_clear(&rl->e[i].q);
		}
		defer_free(rl);
		return;
	}
	for (int i = 0; i < 2; i++) {
		struct rend *e = &rl->e[i], *o = &rl->e[1 - i];
		uint32_t ev = 0;
		if (!e->rd_eof && !o->dead && o->q.len < RELAY_HIGH)
			ev |= EPOLLIN;
		if (e->q.len && !e->dead)
			ev |= EPOLLOUT;
		/* Unregistering is the only way to stop level-triggered HUP reports while this side
		 * waits for the other one. */
		if (ev)
			watch_set(&e->w, ev);
		else
			watch_unreg(&e->w);
	}
}

static void relay_start(struct pconnect *pc, int tcp)
{
	struct conn *c = pc->c;
	struct relay *rl = xcalloc(1, sizeof *rl);
	for (int i = 0; i < 2; i++) {
		watch_init(&rl->e[i].w, on_rend);
		rl->e[i].rl = rl;
	}
	/* The OK goes out first, then whatever the client sent after CONNECT is already data. */
	conn_ok(c, pc->req);
	struct buf in = {0};
	int rd_eof;
	c->pconn = NULL;
	int fd = conn_steal(c, &rl->e[0].q, &in, &rd_eof);
	free(pc); /* watch and timer were already released by the caller */
	watch_setfd(&rl->e[0].w, fd);
	watch_setfd(&rl->e[1].w, tcp);
	outq_push(&rl->e[1].q, in.d, in.len);
	buf_free(&in);
	rl->e[0].rd_eof = rd_eof;
	relay_update(rl);
}

/* ---- connecting ---- */

static void pconnect_free(struct pconnect *pc)
{
	watch_close(&pc->w);
	timer_cancel(&pc->t);
	pc->c->pconn = NULL;
	free(pc);
}

static void connect_failed(struct pconnect *pc, int e)
{
	struct conn *c = pc->c;
	if (pc->refused)
		e = ECONNREFUSED;
	conn_err(c, pc->req, e, "connect to port %u: %s", pc->port, strerror(e));
	pconnect_free(pc);
	conn_kick(c); /* the connection stays framed: resume reading requests */
}

static void connect_succeeded(struct pconnect *pc)
{
	struct conn *c = pc->c;
	if (c->kill || c->wdead) {
		/* The client is gone or being disconnected: nobody to relay for. */
		pconnect_free(pc);
		conn_kick(c);
		return;
	}
	int fd = watch_take(&pc->w);
	timer_cancel(&pc->t);
	relay_start(pc, fd);
}

static void on_connect(struct watch *w, uint32_t ev);

/* Tries 127.0.0.1, then [::1]. Connecting to loopback may complete at once; the result is
 * still taken from the writable event so that the hand-over never happens inside a request
 * handler. */
static void connect_next(struct pconnect *pc)
{
	while (pc->next_family < 2) {
		int v6 = pc->next_family++;
		int fd = socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fd < 0) {
			pc->err = errno;
			continue;
		}
		int rc;
		if (v6) {
			struct sockaddr_in6 a = {.sin6_family = AF_INET6, .sin6_port = htons(pc->port)};
			a.sin6_addr = in6addr_loopback;
			rc = connect(fd, (struct sockaddr *)&a, sizeof a);
		} else {
			struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(pc->port)};
			a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
			rc = connect(fd, (struct sockaddr *)&a, sizeof a);
		}
		if (rc == 0 || errno == EINPROGRESS) {
			watch_setfd(&pc->w, fd);
			watch_set(&pc->w, EPOLLOUT);
			return;
		}
		pc->err = errno;
		pc->refused |= errno == ECONNREFUSED;
		close(fd);
	}
	connect_failed(pc, pc->err ? pc->err : ECONNREFUSED);
}

static void on_connect(struct watch *w, uint32_t ev)
{
	(void)ev;
	struct pconnect *pc = container_of(w, struct pconnect, w);
	int err = 0;
	socklen_t len = sizeof err;
	if (getsockopt(w->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
		err = errno;
	if (!err) {
		connect_succeeded(pc);
		return;
	}
	pc->err = err;
	pc->refused |= err == ECONNREFUSED;
	watch_close(w);
	connect_next(pc);
}

static void on_connect_timeout(struct timer *t)
{
	struct pconnect *pc = container_of(t, struct pconnect, t);
	connect_failed(pc, ETIMEDOUT);
}

void relay_connect(struct conn *c, struct rd *r)
{
	uint32_t req = rd_u32(r);
	if (r->bad) {
		conn_fail(c);
		return;
	}
	uint32_t port = rd_u32(r);
	if (r->bad || port == 0 || port > 65535) {
		conn_err(c, req, EINVAL, "CONNECT: malformed payload or invalid port");
		return;
	}
	struct pconnect *pc = xcalloc(1, sizeof *pc);
	watch_init(&pc->w, on_connect);
	timer_init(&pc->t, on_connect_timeout);
	pc->c = c;
	pc->req = req;
	pc->port = (uint16_t)port;
	/* Requests after CONNECT wait: after OK they are relay data, after ERR frames again. */
	c->pconn = pc;
	timer_arm(&pc->t, CONNECT_TIMEOUT_MS);
	connect_next(pc);
}

void relay_abort(struct conn *c)
{
	pconnect_free(c->pconn);
}
