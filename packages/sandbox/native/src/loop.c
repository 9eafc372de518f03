#include "loop.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "util.h"

static int epfd = -1;
static struct timer *timers;
static void **deferred;
static size_t ndeferred, cdeferred;

void loop_init(void)
{
	epfd = epoll_create1(EPOLL_CLOEXEC);
	if (epfd < 0)
		die("epoll_create1: %m");
}

void watch_init(struct watch *w, watch_fn fn)
{
	w->fd = -1;
	w->reg = 0;
	w->events = 0;
	w->fn = fn;
}

void watch_setfd(struct watch *w, int fd) { w->fd = fd; }

void watch_set(struct watch *w, uint32_t events)
{
	if (w->fd < 0 || (w->reg && w->events == events))
		return;
	struct epoll_event ev = {.events = events, .data.ptr = w};
	if (epoll_ctl(epfd, w->reg ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, w->fd, &ev) < 0) {
		logmsg("epoll_ctl fd %d: %m", w->fd);
		return;
	}
	w->reg = 1;
	w->events = events;
}

void watch_unreg(struct watch *w)
{
	if (w->reg)
		epoll_ctl(epfd, EPOLL_CTL_DEL, w->fd, NULL);
	w->reg = 0;
	w->events = 0;
}

void watch_close(struct watch *w)
{
	if (w->fd < 0)
		return;
	watch_unreg(w);
	close(w->fd);
	w->fd = -1;
}

int watch_take(struct watch *w)
{
	watch_unreg(w);
	int fd = w->fd;
	w->fd = -1;
	return fd;
}

void timer_init(struct timer *t, void (*fn)(struct timer *t))
{
	t->at = 0;
	t->next = NULL;
	t->pprev = NULL;
	t->fn = fn;
}

void timer_arm(struct timer *t, uint64_t delay_ms)
{
	timer_cancel(t);
	t->at = mono_ms() + delay_ms;
	struct timer **pp = &timers;
	while (*pp && (*pp)->at <= t->at)
		pp = &(*pp)->next;
	t->next = *pp;
	if (t->next)
		t->next->pprev = &t->next;
	t->pprev = pp;
	*pp = t;
}

void timer_cancel(struct timer *t)
{
	if (!t->pprev)
		return;
	*t->pprev = t->next;
	if (t->next)
		t->next->pprev = t->pprev;
	t->next = NULL;
	t->pprev = NULL;
}

static int timers_timeout(void)
{
	if (!timers)
		return -1;
	uint64_t now = mono_ms();
	if (timers->at <= now)
		return 0;
	uint64_t d = timers->at - now;
	return d > INT_MAX ? INT_MAX : (int)d;
}

static void timers_run(void)
{
	uint64_t now = mono_ms();
	while (timers && timers->at <= now) {
		struct timer *t = timers;
		timer_cancel(t);
		t->fn(t);
	}
}

void defer_free(void *p)
{
	if (ndeferred == cdeferred) {
		cdeferred = cdeferred ? cdeferred * 2 : 16;
		deferred = xrealloc(deferred, cdeferred * sizeof *deferred);
	}
	deferred[ndeferred++] = p;
}

void loop_run(int (*busy)(void), void (*after_batch)(void))
{
	struct epoll_event evs[64];
	for (;;) {
		int timeout = busy() ? 0 : timers_timeout();
		int n = epoll_wait(epfd, evs, 64, timeout);
		if (n < 0) {
			if (errno != EINTR)
				die("epoll_wait: %m");
			n = 0;
		}
		for (int i = 0; i < n; i++) {
			struct watch *w = evs[i].data.ptr;
			if (w->fd >= 0 && w->reg)
				w->fn(w, evs[i].events);
		}
		timers_run();
		after_batch();
		for (size_t i = 0; i < ndeferred; i++)
			free(deferred[i]);
		ndeferred = 0;
		if (cdeferred > 64) {
			free(deferred);
			deferred = NULL;
			cdeferred = 0;
		}
	}
}
