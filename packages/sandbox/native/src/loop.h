/* The single-threaded event loop: epoll watches, one-shot timers kept in a sorted list (used as
 * the epoll_wait timeout), and deferred frees so an object closed while handling one event is
 * still valid memory for the other events of the same epoll_wait batch. */
#pragma once
#include <stdint.h>

struct watch;
typedef void (*watch_fn)(struct watch *w, uint32_t events);

struct watch {
	int fd;          /* -1 once closed: pending events for it in this batch are skipped */
	int reg;         /* registered with epoll */
	uint32_t events; /* registered interest */
	watch_fn fn;
};

void loop_init(void);
void watch_init(struct watch *w, watch_fn fn);
/* Sets the fd without registering it (it is registered by the first watch_set). */
void watch_setfd(struct watch *w, int fd);
/* Registers (or updates) interest. Even with events == 0 the kernel reports HUP/ERR. */
void watch_set(struct watch *w, uint32_t events);
/* Unregisters without closing: the only way to stop level-triggered HUP reports. */
void watch_unreg(struct watch *w);
/* Unregisters explicitly (a forked child may still hold a copy of the fd, which would keep the
 * epoll registration alive after our close) and closes. */
void watch_close(struct watch *w);
/* Unregisters and hands the fd over to a new owner. */
int watch_take(struct watch *w);

struct timer {
	uint64_t at;
	struct timer *next, **pprev; /* pprev != NULL iff armed */
	void (*fn)(struct timer *t);
};

void timer_init(struct timer *t, void (*fn)(struct timer *t));
void timer_arm(struct timer *t, uint64_t delay_ms);
void timer_cancel(struct timer *t);

void defer_free(void *p);

/* Runs forever. busy() says more work is queued (poll without sleeping); after_batch() runs
 * after every batch of events and timers, before deferred frees. */
void loop_run(int (*busy)(void), void (*after_batch)(void));
