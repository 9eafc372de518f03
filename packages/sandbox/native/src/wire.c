#include "wire.h"

#include "buf.h"

static struct buf fb;

static void put_le(uint64_t v, int n)
{
	buf_reserve(&fb, (size_t)n);
	for (int i = 0; i < n; i++)
		fb.d[fb.len++] = (uint8_t)(v >> (8 * i));
}

void fb_begin(uint8_t type)
{
	fb.len = 0;
	put_le(0, 4);
	put_le(type, 1);
}

void fb_u8(uint8_t v) { put_le(v, 1); }
void fb_u32(uint32_t v) { put_le(v, 4); }
void fb_u64(uint64_t v) { put_le(v, 8); }

void fb_str(const void *s, size_t n)
{
	fb_u32((uint32_t)n);
	buf_append(&fb, s, n);
}

void fb_raw(const void *s, size_t n) { buf_append(&fb, s, n); }

uint8_t *fb_reserve(size_t n)
{
	buf_reserve(&fb, n);
	uint8_t *p = fb.d + fb.len;
	fb.len += n;
	return p;
}

void fb_unreserve(size_t n) { fb.len -= n; }

size_t fb_size(void) { return fb.len; }

void fb_patch_u32(size_t at, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		fb.d[at + (size_t)i] = (uint8_t)(v >> (8 * i));
}

const uint8_t *fb_finish(size_t *len)
{
	fb_patch_u32(0, (uint32_t)(fb.len - 4));
	*len = fb.len;
	return fb.d;
}

void fb_trim(void)
{
	if (fb.cap > (256u << 10))
		buf_free(&fb);
}
