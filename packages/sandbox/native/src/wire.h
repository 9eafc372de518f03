/* The frame format of PROTOCOL.md: a bounds-checked reader for incoming payloads and a builder
 * for outgoing frames. All integers are little-endian. */
#pragma once
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define MAX_FRAME (16u << 20) /* bytes after the length field */
#define OUT_CHUNK (64u << 10) /* largest OUT / DATA payload */

enum {
	T_SPAWN = 0x01,
	T_STDIN = 0x02,
	T_STDIN_CLOSE = 0x03,
	T_SIGNAL = 0x04,
	T_ATTACH = 0x05,
	T_DETACH = 0x06,
	T_LIST = 0x07,
	T_FORGET = 0x08,
	T_PING = 0x09,
	T_CONNECT = 0x0A,
	T_RESIZE = 0x0B,
	T_READ = 0x10,
	T_WRITE_OPEN = 0x11,
	T_WRITE_DATA = 0x12,
	T_WRITE_CLOSE = 0x13,
	T_STAT = 0x14,
	T_LISTDIR = 0x15,
	T_MKDIR = 0x16,
	T_REMOVE = 0x17,
	T_RENAME = 0x18,

	T_SPAWNED = 0x81,
	T_OUT = 0x82,
	T_EXIT = 0x83,
	T_PROCS = 0x84,
	T_OK = 0x85,
	T_DATA = 0x86,
	T_STATR = 0x87,
	T_ENTRIES = 0x88,
	T_ERR = 0x8F,
};

static inline uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Reader over one frame's payload. Any read past the end sets bad and yields zeros, so a
 * handler parses everything first and checks bad once. */
struct rd {
	const uint8_t *p;
	size_t n;
	int bad;
};

static inline int rd_take(struct rd *r, size_t k, const uint8_t **out)
{
	if (r->bad || r->n < k) {
		r->bad = 1;
		return 0;
	}
	*out = r->p;
	r->p += k;
	r->n -= k;
	return 1;
}

static inline uint8_t rd_u8(struct rd *r)
{
	const uint8_t *p;
	return rd_take(r, 1, &p) ? p[0] : 0;
}

static inline uint32_t rd_u32(struct rd *r)
{
	const uint8_t *p;
	return rd_take(r, 4, &p) ? le32(p) : 0;
}

static inline uint64_t rd_u64(struct rd *r)
{
	const uint8_t *p;
	return rd_take(r, 8, &p) ? (uint64_t)le32(p) | (uint64_t)le32(p + 4) << 32 : 0;
}

/* str = u32 n + n bytes. Not NUL-terminated; *s points into the frame. */
static inline uint32_t rd_str(struct rd *r, const uint8_t **s)
{
	uint32_t n = rd_u32(r);
	if (!rd_take(r, n, s)) {
		*s = NULL;
		return 0;
	}
	return n;
}

/* A path/argv/env entry must not contain NUL: the C side could not represent it. */
static inline int str_has_nul(const uint8_t *s, uint32_t n) { return n && memchr(s, 0, n) != NULL; }

/* Builder for one outgoing frame at a time (a single global buffer, reused). */
void fb_begin(uint8_t type);
void fb_u8(uint8_t v);
void fb_u32(uint32_t v);
void fb_u64(uint64_t v);
void fb_str(const void *s, size_t n);
void fb_raw(const void *s, size_t n);
/* Reserves n bytes to be filled in place; fb_unreserve gives back what was not used. */
uint8_t *fb_reserve(size_t n);
void fb_unreserve(size_t n);
size_t fb_size(void);
void fb_patch_u32(size_t at, uint32_t v);
/* Fixes the length field; the frame stays valid until the next fb_begin. */
const uint8_t *fb_finish(size_t *len);
/* Releases the builder's memory if one big frame grew it. */
void fb_trim(void);
