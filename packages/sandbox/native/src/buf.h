/* Byte containers: a growable buffer, a chunked FIFO queue for non-blocking writers, and the
 * per-stream output ring that remembers the last --keep-output bytes with absolute offsets. */
#pragma once
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct buf {
	uint8_t *d;
	size_t len, cap;
};

void buf_reserve(struct buf *b, size_t extra);
void buf_append(struct buf *b, const void *p, size_t n);
/* Drops n bytes from the front; releases the allocation once empty so idle owners cost nothing. */
void buf_consume(struct buf *b, size_t n);
void buf_free(struct buf *b);

struct qchunk;
struct outq {
	struct qchunk *head, *tail;
	size_t len;
};

void outq_push(struct outq *q, const void *p, size_t n);
/* Writes as much as the fd takes. Returns bytes written, or -1 with errno (EAGAIN included). */
ssize_t outq_write(struct outq *q, int fd);
void outq_clear(struct outq *q);
/* Moves everything from src to the end of dst, leaving src empty. */
void outq_move(struct outq *dst, struct outq *src);

struct ring {
	uint8_t *d;
	size_t cap, len, head; /* head: index of the oldest kept byte */
	uint64_t total;        /* bytes ever appended: the absolute offset of the next byte */
};

/* Grows lazily up to keep bytes, so a quiet process costs no buffer at all. */
void ring_append(struct ring *r, const uint8_t *p, size_t n, size_t keep);
static inline uint64_t ring_oldest(const struct ring *r) { return r->total - r->len; }
/* Copies up to max bytes starting at absolute offset off (clamped to what is kept). */
size_t ring_copy(const struct ring *r, uint64_t off, uint8_t *dst, size_t max);
/* Shrinks the allocation to the kept bytes once nothing more will be appended. */
void ring_compact(struct ring *r);
void ring_free(struct ring *r);
