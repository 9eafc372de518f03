#include "files.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "conn.h"
#include "util.h"

#define W_APPEND 1u
#define W_MKDIRS 2u
#define W_EXCL 4u

/* An ENTRIES frame is sent once its payload passes this size. */
#define ENTRIES_FRAME (60u << 10)
/* Bytes a streamed reply produces per turn before letting other connections run. */
#define JOB_BUDGET (256u << 10)

/* Reads the req, closing the connection if even that is missing (nothing to reply to). */
#define READ_REQ(c, r, req)                                                                       \
	uint32_t req = rd_u32(r);                                                                 \
	if ((r)->bad) {                                                                           \
		conn_fail(c);                                                                     \
		return;                                                                           \
	}

static void err_path(struct conn *c, uint32_t req, int e, const char *op, const char *path)
{
	conn_err(c, req, e, "%s %s: %s", op, path, strerror(e));
}

static void err_malformed(struct conn *c, uint32_t req, const char *what)
{
	conn_err(c, req, EINVAL, "%s: malformed payload", what);
}

static void err_badpath(struct conn *c, uint32_t req)
{
	conn_err(c, req, EINVAL, "path must be absolute and must not contain NUL");
}

/* Reads a str that must be an absolute path without NUL. Returns a malloc'd C string, or NULL
 * (r->bad tells truncation apart from an invalid path). */
static char *rd_path(struct rd *r)
{
	const uint8_t *s;
	uint32_t n = rd_str(r, &s);
	if (r->bad || !n || s[0] != '/' || str_has_nul(s, n))
		return NULL;
	return xmemdup0(s, n);
}

static int64_t mtime_ms(const struct stat *st)
{
	return (int64_t)st->st_mtim.tv_sec * 1000 + st->st_mtim.tv_nsec / 1000000;
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void free_names(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/* All names of a directory except . and .., sorted bytewise. Returns an errno (0 = ok); an
 * empty directory gives *out = NULL, *count = 0. */
static int read_names(int dirfd, char ***out, size_t *count)
{
	*out = NULL;
	*count = 0;
	int fd = dup(dirfd);
	if (fd < 0)
		return errno;
	DIR *d = fdopendir(fd);
	if (!d) {
		int e = errno;
		close(fd);
		return e;
	}
	rewinddir(d); /* the dup shares the offset with dirfd */
	char **v = NULL;
	size_t n = 0, cap = 0;
	struct dirent *de;
	errno = 0;
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			v = xrealloc(v, cap * sizeof *v);
		}
		v[n++] = xmemdup0(de->d_name, strlen(de->d_name));
		errno = 0;
	}
	int e = errno;
	closedir(d);
	if (e) {
		free_names(v, n);
		return e;
	}
	qsort(v, n, sizeof *v, cmp_names);
	*out = v;
	*count = n;
	return 0;
}

/* Creates the missing directories along path: every component, or all but the last
 * (include_last = 0, for WRITE_OPEN's MKDIRS). Intermediate ones get 0755, the last one mode.
 * Returns 0 or an errno. */
static int mkdir_p(const char *path, mode_t mode, int include_last)
{
	char *p = xmemdup0(path, strlen(path));
	size_t n = strlen(p);
	while (n > 1 && p[n - 1] == '/')
		p[--n] = 0;
	int err = 0;
	for (char *s = p + 1;; s++) {
		if (*s && *s != '/')
			continue;
		int last = !*s;
		if (last && !include_last)
			break;
		if (s[-1] != '/') { /* skip empty components of "a//b" */
			char save = *s;
			*s = 0;
			if (mkdir(p, last ? mode : 0755) < 0) {
				int e = errno;
				struct stat st;
				if (stat(p, &st) < 0)
					err = e;
				else if (!S_ISDIR(st.st_mode))
					err = ENOTDIR; /* spec: EEXIST only without parents */
			}
			*s = save;
			if (err)
				break;
		}
		if (last)
			break;
	}
	free(p);
	return err;
}

/* ---- READ ---- */

struct readjob {
	struct job j;
	int fd;
	int seekable;
	uint32_t req;
	uint64_t pos, left;
	char *path;
};

static int read_pump(struct conn *c, struct job *j)
{
	struct readjob *rj = container_of(j, struct readjob, j);
	size_t budget = JOB_BUDGET;
	while (budget) {
		if (!rj->left) {
			conn_ok(c, rj->req);
			return 1;
		}
		size_t want = (size_t)MIN((uint64_t)OUT_CHUNK, rj->left);
		fb_begin(T_DATA);
		fb_u32(rj->req);
		uint8_t *d = fb_reserve(want);
		ssize_t n = rj->seekable ? pread(rj->fd, d, want, (off_t)rj->pos) : read(rj->fd, d, want);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			err_path(c, rj->req, errno, "read", rj->path);
			return 1;
		}
		if (n == 0) {
			conn_ok(c, rj->req);
			return 1;
		}
		fb_unreserve(want - (size_t)n);
		conn_send_frame(c);
		rj->pos += (uint64_t)n;
		rj->left -= (uint64_t)n;
		budget -= MIN(budget, (size_t)n);
	}
	return 0;
}

static void read_free(struct job *j)
{
	struct readjob *rj = container_of(j, struct readjob, j);
	close(rj->fd);
	free(rj->path);
	free(rj);
}

void files_read(struct conn *c, struct rd *r)
{
	READ_REQ(c, r, req);
	char *path = rd_path(r);
	uint64_t off = rd_u64(r), len = rd_u64(r);
	if (r->bad) {
		free(path);
		err_malformed(c, req, "READ");
		return;
	}
	if (!path) {
		err_badpath(c, req);
		return;
	}
	/* O_NONBLOCK: opening a FIFO must not hang the loop. */
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	struct stat st;
	int e = 0;
	if (fd < 0 || fstat(fd, &st) < 0)
		e = errno;
	else if (S_ISDIR(st.st_mode))
		e = EISDIR;
	else if (S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode))
		e = EINVAL;
	else if (off > INT64_MAX)
		e = EINVAL;
	else if (!S_ISREG(st.st_mode) && off && lseek(fd, (off_t)off, SEEK_SET) < 0)
		e = errno;
	if (e) {
		if (fd >= 0)
			close(fd);
		err_path(c, req, e, "read", path);
		free(path);
		return;
	}
	struct readjob *rj = xcalloc(1, sizeof *rj);
	rj->j.pump = read_pump;
	rj->j.free = read_free;
	rj->fd = fd;
	rj->seekable = S_ISREG(st.st_mode);
	rj->req = req;
	rj->pos = off;
	rj->left = len;
	rj->path = path;
	conn_start_job(c, &rj->j);
}

/* ---- WRITE_OPEN / WRITE_DATA / WRITE_CLOSE ---- */

struct wfile {
	struct wfile *next;
	uint32_t req;
	int fd;
	int err; /* first write error, reported at WRITE_CLOSE */
	char *path;
};

static struct wfile **wfile_find(struct conn *c, uint32_t req)
{
	struct wfile **pp = &c->wfiles;
	while (*pp && (*pp)->req != req)
		pp = &(*pp)->next;
	return pp;
}

void files_write_open(struct conn *c, struct rd *r)
{
	READ_REQ(c, r, req);
	char *path = rd_path(r);
	uint32_t mode = rd_u32(r), flags = rd_u32(r);
	if (r->bad) {
		free(path);
		err_malformed(c, req, "WRITE_OPEN");
		return;
	}
	if (!path) {
		err_badpath(c, req);
		return;
	}
	if (*wfile_find(c, req)) {
		conn_err(c, req, EBUSY, "a write with this req is already open");
		free(path);
		return;
	}
	if (flags & W_MKDIRS) {
		int e = mkdir_p(path, 0755, 0);
		if (e) {
			err_path(c, req, e, "mkdir", path);
			free(path);
			return;
		}
	}
	int of = O_WRONLY | O_CREAT | O_CLOEXEC | O_NOCTTY | O_NONBLOCK;
	of |= (flags & W_APPEND) ? O_APPEND : O_TRUNC;
	if (flags & W_EXCL)
		of |= O_EXCL;
	int fd = open(path, of, (mode_t)(mode & 07777));
	struct stat st;
	int e = 0;
	if (fd < 0 || fstat(fd, &st) < 0)
		e = errno;
	else if (S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode))
		e = EINVAL;
	else if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK) < 0)
		e = errno;
	if (e) {
		if (fd >= 0)
			close(fd);
		err_path(c, req, e, "open", path);
		free(path);
		return;
	}
	struct wfile *w = xcalloc(1, sizeof *w);
	w->req = req;
	w->fd = fd;
	w->path = path;
	w->next = c->wfiles;
	c->wfiles = w;
	conn_ok(c, req);
}

void files_write_data(struct conn *c, struct rd *r)
{
	READ_REQ(c, r, req);
	struct wfile *w = *wfile_find(c, req);
	if (!w || w->err)
		return;
	const uint8_t *p = r->p;
	size_t n = r->n;
	while (n) {
		ssize_t k = write(w->fd, p, n);
		if (k < 0) {
			if (errno == EINTR)
				continue;
			w->err = errno;
			return;
		}
		p += k;
		n -= (size_t)k;
	}
}

static void wfile_free(struct wfile *w)
{
	if (w->fd >= 0)
		close(w->fd);
	free(w->path);
	free(w);
}

void files_write_close(struct conn *c, struct rd *r)
{
	READ_REQ(c, r, req);
	struct wfile **pp = wfile_find(c, req);
	struct wfile *w = *pp;
	if (!w) {
		conn_err(c, req, EBADF, "no open write for this req");
		return;
	}
	*pp = w->next;
	int e = w->err;
	if (close(w->fd) < 0 && !e)
		e = errno;
	w->fd = -1;
	if (e)
		err_path(c, req, e, "write", w->path);
	else
		conn_ok(c, req);
	wfile_free(w);
}

void files_conn_gone(struct conn *c)
{
	while (c->wfiles) {
		struct wfile *w = c->wfiles;
		c->wfiles = w->next;
		wfile_free(w);
	}
}

/* ---- STAT ---- */

void files_stat(struct conn *c, struct rd *r)
{
	READ_REQ(c, r, req);
	char *path = rd_path(r);
	uint8_t follow = rd_u8(r);
	if (r->bad) {
		free(path);
		err_malformed(c, req, "STAT");
		return;
	}
	if (!path) {
		err_badpath(c, req);
		return;
	}
	struct stat st;
	if ((follow ? stat(path, &st) : lstat(path, &st)) < 0) {
		err_path(c, req, errno, "stat", path);
		free(path);
		return;
	}
	char target[4096];
	ssize_t tn = 0;
	if (!follow && S_ISLNK(st.st_mode)) {
		tn = readlink(path, target, sizeof target);
		if (tn < 0)
			tn = 0;
	}
	fb_begin(T_STATR);
	fb_u32(req);
	fb_u32(st.st_mode);
	fb_u64((uint64_t)st.st_size);
	fb_u64((uint64_t)mtime_ms(&st));
	fb_u32(st.st_uid);
	fb_u32(st.st_gid);
	fb_str(target, (size_t)tn);
	conn_send_frame(c);
	free(path);
}

/* ---- LISTDIR ---- */

struct level {
	int fd;
	char **names;
	size_t n, i;
	size_t prefix; /* length of this level's relative path prefix ("" or "a/b/") */
};

struct listjob {
	struct job j;
	uint32_t req, depth;
	struct level *st;
	size_t nst, cst;
	struct buf rel; /* relative path of the entry being emitted */
	int sent;       /* an ENTRIES frame went out (an empty listing still gets one) */
};

static int level_push(struct listjob *lj, int fd)
{
	char **names;
	size_t n;
	int e = read_names(fd, &names, &n);
	if (e) {
		close(fd);
		return e;
	}
	if (lj->nst == lj->cst) {
		lj->cst = lj->cst ? lj->cst * 2 : 4;
		lj->st = xrealloc(lj->st, lj->cst * sizeof *lj->st);
	}
	lj->st[lj->nst++] = (struct level){fd, names, n, 0, lj->rel.len};
	return 0;
}

static void level_pop(struct listjob *lj)
{
	struct level *l = &lj->st[--lj->nst];
	close(l->fd);
	free_names(l->names, l->n);
}

static int list_pump(struct conn *c, struct job *j)
{
	struct listjob *lj = container_of(j, struct listjob, j);
	size_t budget = JOB_BUDGET;
	while (lj->nst && budget) {
		fb_begin(T_ENTRIES);
		fb_u32(lj->req);
		size_t at = fb_size();
		fb_u32(0);
		uint32_t count = 0;
		size_t start = fb_size();
		while (lj->nst && fb_size() - start < ENTRIES_FRAME) {
			struct level *l = &lj->st[lj->nst - 1];
			if (l->i == l->n) {
				level_pop(lj);
				continue;
			}
			const char *name = l->names[l->i++];
			lj->rel.len = l->prefix;
			buf_append(&lj->rel, name, strlen(name));
			struct stat st;
			if (fstatat(l->fd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
				continue; /* removed meanwhile */
			fb_str(lj->rel.d, lj->rel.len);
			fb_u32(st.st_mode);
			fb_u64((uint64_t)st.st_size);
			fb_u64((uint64_t)mtime_ms(&st));
			count++;
			/* Depth-first, the directory right before its children; never into symlinks. An
			 * unreadable subdirectory is listed but not entered. */
			if (S_ISDIR(st.st_mode) && lj->nst < lj->depth) {
				int fd = openat(l->fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
				if (fd >= 0) {
					buf_append(&lj->rel, "/", 1);
					level_push(lj, fd); /* l is invalid from here */
				}
			}
		}
		budget -= MIN(budget, fb_size() - start + 1);
		if (count || (!lj->nst && !lj->sent)) {
			lj->sent = 1;
			fb_patch_u32(at, count);
			conn_send_frame(c);
		}
	}
	if (lj->nst)
		return 0;
	if (!lj->sent) {
		fb_begin(T_ENTRIES);
		fb_u32(lj->req);
		fb_u32(0);
		conn_send_frame(c);
	}
	conn_ok(c, lj->req);
	return 1;
}

static void list_free(struct job *j)
{
	struct listjob *lj = container_of(j, struct listjob, j);
	while (lj->nst)
		level_pop(lj);
	free(lj->st);
	buf_free(&lj->rel);
	free(lj);
}

void files_listdir(struct conn *c, struct rd *r)
{
	READ_REQ(c, r, req);
	char *path = rd_path(r);
	uint32_t depth = rd_u32(r);
	if (r->bad) {
		free(path);
		err_malformed(c, req, "LISTDIR");
		return;
	}
	if (!path) {
		err_badpath(c, req);
		return;
	}
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		err_path(c, req, errno, "listdir", path);
		free(path);
		return;
	}
	struct listjob *lj = xcalloc(1, sizeof *lj);
	lj->j.pump = list_pump;
	lj->j.free = list_free;
	lj->req = req;
	lj->depth = depth;
	int e = depth ? level_push(lj, fd) : (close(fd), 0);
	if (e) {
		err_path(c, req, e, "listdir", path);
		free(path);
		list_free(&lj->j);
		return;
	}
	free(path);
	conn_start_job(c, &lj->j);
}

/* ---- MKDIR / REMOVE / RENAME ---- */

void files_mkdir(struct conn *c, struct rd *r)
{
	READ_REQ(c, r, req);
	char *path = rd_path(r);
	uint32_t mode = rd_u32(r);
	uint8_t parents = rd_u8(r);
	if (r->bad) {
		free(path);
		err_malformed(c, req, "MKDIR");
		return;
	}
	if (!path) {
		err_badpath(c, req);
		return;
	}
	int e = 0;
	if (parents)
		e = mkdir_p(path, (mode_t)(mode & 07777), 1);
	else if (mkdir(path, (mode_t)(mode & 07777)) < 0)
		e = errno;
	if (e)
		err_path(c, req, e, "mkdir", path);
	else
		conn_ok(c, req);
	free(path);
}

/* Removes everything inside an open directory. Returns the first errno (0 = all removed). */
static int remove_contents(int dirfd)
{
	char **names;
	size_t n;
	int first = read_names(dirfd, &names, &n);
	if (first)
		return first;
	for (size_t i = 0; i < n; i++) {
		struct stat st;
		int e = 0;
		if (fstatat(dirfd, names[i], &st, AT_SYMLINK_NOFOLLOW) < 0) {
			e = errno == ENOENT ? 0 : errno;
		} else if (S_ISDIR(st.st_mode)) {
			int fd = openat(dirfd, names[i], O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (fd < 0) {
				e = errno;
			} else {
				e = remove_contents(fd);
				close(fd);
				if (unlinkat(dirfd, names[i], AT_REMOVEDIR) < 0 && !e)
					e = errno;
			}
		} else if (unlinkat(dirfd, names[i], 0) < 0 && errno != ENOENT) {
			e = errno;
		}
		if (e && !first)
			first = e;
	}
	free_names(names, n);
	return first;
}

void files_remove(struct conn *c, struct rd *r)
{
	READ_REQ(c, r, req);
	char *path = rd_path(r);
	uint8_t recursive = rd_u8(r);
	if (r->bad) {
		free(path);
		err_malformed(c, req, "REMOVE");
		return;
	}
	if (!path) {
		err_badpath(c, req);
		return;
	}
	struct stat st, root;
	int e = 0;
	if (lstat(path, &st) < 0) {
		e = errno;
	} else if (stat("/", &root) == 0 && st.st_dev == root.st_dev && st.st_ino == root.st_ino) {
		e = EBUSY; /* a recursive remove of / would also wipe the host-mounted /.rt */
	} else if (!S_ISDIR(st.st_mode)) {
		if (unlink(path) < 0)
			e = errno;
	} else {
		if (recursive) {
			int fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (fd < 0) {
				e = errno;
			} else {
				e = remove_contents(fd);
				close(fd);
			}
		}
		if (!e && rmdir(path) < 0)
			e = errno;
	}
	if (e)
		err_path(c, req, e, "remove", path);
	else
		conn_ok(c, req);
	free(path);
}

void files_rename(struct conn *c, struct rd *r)
{
	READ_REQ(c, r, req);
	char *from = rd_path(r);
	char *to = rd_path(r);
	if (r->bad || !from || !to) {
		int bad = r->bad;
		free(from);
		free(to);
		if (bad)
			err_malformed(c, req, "RENAME");
		else
			err_badpath(c, req);
		return;
	}
	if (rename(from, to) < 0) {
		int e = errno;
		conn_err(c, req, e, "rename %s -> %s: %s", from, to, strerror(e));
	} else {
		conn_ok(c, req);
	}
	free(from);
	free(to);
}
