/* Client connections: framing, request dispatch, and the outbound queue.
 *
 * Nothing is written to a client from inside a handler: replies are queued and every touched
 * connection is serviced once per loop iteration (conns_service), which coalesces small frames
 * into one writev and keeps all close decisions in one place. */
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "loop.h"

struct conn;

/* A streamed reply (READ, LISTDIR) produced a little at a time as the client drains its queue,
 * so a huge file or tree never sits in memory. Further requests wait until it is done. */
struct job {
	int (*pump)(struct conn *c, struct job *j); /* returns 1 when finished */
	void (*free)(struct job *j);
};

struct wfile;
struct pconnect;

struct conn {
	struct watch w;
	struct conn *next, *prev;
	struct buf in;   /* received bytes not yet handled (at most one partial frame after a read) */
	struct outq out; /* frames waiting for the socket */
	unsigned dirty : 1, closed : 1, kill : 1;
	unsigned rd_eof : 1; /* client will send nothing more */
	unsigned wdead : 1;  /* client can receive nothing more: replies are dropped */
	struct job *job;
	struct wfile *wfiles;    /* open WRITE_OPEN handles */
	struct pconnect *pconn;  /* CONNECT in progress */
	uint32_t stdin_wait_pid; /* paused until this process's stdin queue drains */
};

extern struct conn *g_conns;

void conn_new(int fd);
void conn_send(struct conn *c, const void *p, size_t n);
void conn_send_frame(struct conn *c); /* the frame currently in the builder (wire.h) */
void conn_ok(struct conn *c, uint32_t req);
void conn_err(struct conn *c, uint32_t req, int err, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* Protocol violation without a readable req: the connection is closed. */
void conn_fail(struct conn *c);
/* Something changed for this connection (queue, pause reason): service it this iteration. */
void conn_kick(struct conn *c);
void conn_start_job(struct conn *c, struct job *j);
/* Turns the connection into a plain fd for the CONNECT relay: returns the fd, hands over the
 * queued output and the unread input, and frees the connection. */
int conn_steal(struct conn *c, struct outq *out, struct buf *in, int *rd_eof);

int conns_busy(void);
void conns_service(void);
/* Best-effort non-blocking flush of every queue, right before rt-init exits. */
void conns_flush_final(void);
