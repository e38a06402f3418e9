/*
 * The stored copy of recv-pipe (ADR 0821): a regular file written with O_DIRECT where the file system
 * takes it, through one aligned buffer, so a large upload neither fills the page cache (pushing out the
 * services' own files) nor pays for fresh page-cache pages, which a VM that backs guest memory on first
 * touch makes cost more than the disk write itself. Full buffers go to the file as aligned direct writes;
 * the tail (less than a block) goes buffered once O_DIRECT is cleared again. Where O_DIRECT is refused at
 * the start, or a direct write fails with EINVAL (alignment the file system wants otherwise), the copy
 * is written buffered from there on: same bytes, same order.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common.h"

#define CS_ALIGN 4096
#define CS_CHUNK (2 * 1024 * 1024)

static int cs_fd = -1;
static int cs_direct;
static unsigned char *cs_buf;
static size_t cs_fill;

static int cs_set_direct(int on)
{
	int flags = fcntl(cs_fd, F_GETFL);
	if (flags < 0)
		return -1;
	return fcntl(cs_fd, F_SETFL, on ? (flags | O_DIRECT) : (flags & ~O_DIRECT));
}

int copysink_open(int fd)
{
	cs_fd = fd;
	cs_direct = 0;
	cs_fill = 0;
	/* a direct write must start at an aligned offset: the copy is a fresh file, at 0 */
	if (lseek(fd, 0, SEEK_CUR) != 0)
		return 0;
	if (posix_memalign((void **)&cs_buf, CS_ALIGN, CS_CHUNK) != 0) {
		cs_buf = NULL;
		return 0;
	}
	cs_direct = cs_set_direct(1) == 0;
	return cs_direct;
}

/* Leaves direct mode for good (the buffer's bytes go out buffered). */
static int cs_fall_back(void)
{
	cs_direct = 0;
	if (cs_set_direct(0) != 0)
		return -1;
	size_t n = cs_fill;
	cs_fill = 0;
	return fd_write_all(cs_fd, cs_buf, n, -1);
}

/* Writes the full buffer with one direct write (or falls back). */
static int cs_flush_full(void)
{
	size_t done = 0;
	while (done < cs_fill) {
		ssize_t w = write(cs_fd, cs_buf + done, cs_fill - done);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && errno == EINVAL && done == 0)
			return cs_fall_back();
		if (w <= 0)
			return -1;
		done += (size_t)w;
		/* a short direct write that is not block-aligned: the rest goes buffered */
		if (done < cs_fill && done % CS_ALIGN != 0) {
			memmove(cs_buf, cs_buf + done, cs_fill - done);
			cs_fill -= done;
			return cs_fall_back();
		}
	}
	cs_fill = 0;
	return 0;
}

int copysink_put(const unsigned char *buf, size_t n)
{
	if (!cs_direct)
		return fd_write_all(cs_fd, buf, n, -1);
	while (n > 0) {
		size_t room = CS_CHUNK - cs_fill;
		size_t take = n < room ? n : room;
		memcpy(cs_buf + cs_fill, buf, take);
		cs_fill += take;
		buf += take;
		n -= take;
		if (cs_fill == CS_CHUNK && cs_flush_full() != 0)
			return -1;
	}
	return 0;
}

int copysink_put_from_pipe(int pipe_fd, size_t n)
{
	while (n > 0) {
		if (!cs_direct) {
			ssize_t s = splice(pipe_fd, NULL, cs_fd, NULL, n, SPLICE_F_MOVE);
			if (s < 0 && errno == EINTR)
				continue;
			if (s <= 0)
				return -1;
			n -= (size_t)s;
			continue;
		}
		size_t room = CS_CHUNK - cs_fill;
		ssize_t r = read(pipe_fd, cs_buf + cs_fill, n < room ? n : room);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		cs_fill += (size_t)r;
		n -= (size_t)r;
		if (cs_fill == CS_CHUNK && cs_flush_full() != 0)
			return -1;
	}
	return 0;
}

int copysink_finish(void)
{
	if (!cs_direct)
		return 0;
	/* the tail is shorter than a chunk and rarely aligned: written buffered */
	return cs_fall_back();
}
