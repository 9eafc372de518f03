/* Small helpers shared by every module: allocation that cannot return NULL, clocks, logging. */
#pragma once
#include <stddef.h>
#include <stdint.h>

#define container_of(ptr, type, member) ((type *)(void *)((char *)(ptr) - offsetof(type, member)))
#define MIN(a, b) ((a) < (b) ? (a) : (b))
#define MAX(a, b) ((a) > (b) ? (a) : (b))

/* Allocation failure aborts: every size derived from client input is bounded by the 16 MiB
 * frame limit, so failing here means the sandbox itself is out of memory. */
void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t m);
void *xrealloc(void *p, size_t n);
char *xmemdup0(const void *p, size_t n);

uint64_t mono_ms(void);
uint64_t real_ms(void);

void logmsg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

int fd_set_nonblock(int fd);

/* One shared read buffer: the loop is single-threaded and every reader consumes its data
 * before returning, so a per-connection buffer would only cost memory. */
#define SCRATCH_SIZE (64u << 10)
extern uint8_t g_scratch[SCRATCH_SIZE];
