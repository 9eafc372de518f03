#include "buf.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "util.h"

void buf_reserve(struct buf *b, size_t extra)
{
	if (b->cap - b->len >= extra)
		return;
	size_t cap = MAX(b->cap * 2, b->len + extra);
	cap = MAX(cap, (size_t)256);
	b->d = xrealloc(b->d, cap);
	b->cap = cap;
}

void buf_append(struct buf *b, const void *p, size_t n)
{
	if (!n)
		return;
	buf_reserve(b, n);
	memcpy(b->d + b->len, p, n);
	b->len += n;
}

void buf_consume(struct buf *b, size_t n)
{
	if (n >= b->len) {
		buf_free(b);
		return;
	}
	memmove(b->d, b->d + n, b->len - n);
	b->len -= n;
	/* A large frame that has been handled should not pin its buffer. */
	if (b->cap > (256u << 10) && b->len < b->cap / 4) {
		b->cap = MAX(b->len, (size_t)4096);
		b->d = xrealloc(b->d, b->cap);
	}
}

void buf_free(struct buf *b)
{
	free(b->d);
	b->d = NULL;
	b->len = b->cap = 0;
}

struct qchunk {
	struct qchunk *next;
	size_t off, len, cap;
	uint8_t d[];
};

#define QCHUNK_MIN (16u << 10)

void outq_push(struct outq *q, const void *p, size_t n)
{
	const uint8_t *s = p;
	q->len += n;
	if (q->tail && q->tail->cap > q->tail->len) {
		size_t k = MIN(n, q->tail->cap - q->tail->len);
		memcpy(q->tail->d + q->tail->len, s, k);
		q->tail->len += k;
		s += k;
		n -= k;
	}
	if (!n)
		return;
	size_t cap = MAX(n, (size_t)QCHUNK_MIN);
	struct qchunk *c = xmalloc(sizeof *c + cap);
	c->next = NULL;
	c->off = 0;
	c->len = n;
	c->cap = cap;
	memcpy(c->d, s, n);
	if (q->tail)
		q->tail->next = c;
	else
		q->head = c;
	q->tail = c;
}

ssize_t outq_write(struct outq *q, int fd)
{
	struct iovec iov[32];
	int n = 0;
	for (struct qchunk *c = q->head; c && n < 32; c = c->next) {
		iov[n].iov_base = c->d + c->off;
		iov[n].iov_len = c->len - c->off;
		n++;
	}
	if (!n)
		return 0;
	ssize_t w;
	do
		w = writev(fd, iov, n);
	while (w < 0 && errno == EINTR);
	if (w <= 0)
		return w < 0 ? -1 : 0;
	size_t left = (size_t)w;
	q->len -= left;
	while (left) {
		struct qchunk *c = q->head;
		size_t avail = c->len - c->off;
		if (left < avail) {
			c->off += left;
			break;
		}
		left -= avail;
		q->head = c->next;
		if (!q->head)
			q->tail = NULL;
		free(c);
	}
	return w;
}

void outq_clear(struct outq *q)
{
	struct qchunk *c = q->head;
	while (c) {
		struct qchunk *next = c->next;
		free(c);
		c = next;
	}
	q->head = q->tail = NULL;
	q->len = 0;
}

void outq_move(struct outq *dst, struct outq *src)
{
	if (!src->head)
		return;
	if (dst->tail)
		dst->tail->next = src->head;
	else
		dst->head = src->head;
	dst->tail = src->tail;
	dst->len += src->len;
	src->head = src->tail = NULL;
	src->len = 0;
}

static void ring_resize(struct ring *r, size_t cap)
{
	uint8_t *d = xmalloc(cap);
	/* Linearize: the oldest byte moves to index 0. */
	size_t first = MIN(r->len, r->cap - r->head);
	if (r->len) {
		memcpy(d, r->d + r->head, first);
		memcpy(d + first, r->d, r->len - first);
	}
	free(r->d);
	r->d = d;
	r->cap = cap;
	r->head = 0;
}

void ring_append(struct ring *r, const uint8_t *p, size_t n, size_t keep)
{
	r->total += n;
	if (!keep || !n)
		return;
	if (n >= keep) {
		/* Everything kept so far is superseded. */
		p += n - keep;
		n = keep;
		r->len = r->head = 0;
	}
	size_t need = MIN(keep, r->len + n);
	if (r->cap < need) {
		size_t cap = MAX(r->cap * 2, (size_t)4096);
		cap = MAX(cap, need);
		ring_resize(r, MIN(cap, keep));
	}
	size_t tail = (r->head + r->len) % r->cap;
	size_t first = MIN(n, r->cap - tail);
	memcpy(r->d + tail, p, first);
	memcpy(r->d, p + first, n - first);
	r->len += n;
	if (r->len > r->cap) {
		r->head = (r->head + (r->len - r->cap)) % r->cap;
		r->len = r->cap;
	}
}

size_t ring_copy(const struct ring *r, uint64_t off, uint8_t *dst, size_t max)
{
	uint64_t oldest = ring_oldest(r);
	if (off < oldest)
		off = oldest;
	if (off >= r->total)
		return 0;
	size_t avail = (size_t)(r->total - off);
	size_t n = MIN(avail, max);
	size_t pos = (r->head + (size_t)(off - oldest)) % r->cap;
	size_t first = MIN(n, r->cap - pos);
	memcpy(dst, r->d + pos, first);
	memcpy(dst + first, r->d, n - first);
	return n;
}

void ring_compact(struct ring *r)
{
	if (!r->len) {
		ring_free(r);
		return;
	}
	if (r->cap != r->len || r->head)
		ring_resize(r, r->len);
}

void ring_free(struct ring *r)
{
	free(r->d);
	r->d = NULL;
	r->cap = r->len = r->head = 0;
}
