/* Descriptor helpers of the pipe modes (tar-pipe, send-pipe, recv-pipe): argument parsing, waiting on a
 * non-blocking descriptor with a deadline, writing a whole buffer. */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <unistd.h>

#include "common.h"

int parse_fd_arg(const char *text)
{
	char *end = NULL;
	errno = 0;
	long fd = strtol(text, &end, 10);
	int ok = errno == 0 && end != text && *end == '\0' && fd >= 3 && fd <= 1024;
	errno = 0;
	return ok ? (int)fd : -1;
}

int parse_count_arg(const char *text, uint64_t max, uint64_t *out)
{
	if (text[0] < '0' || text[0] > '9')
		return -1;
	char *end = NULL;
	errno = 0;
	unsigned long long v = strtoull(text, &end, 10);
	int ok = errno == 0 && end != text && *end == '\0' && v <= max;
	errno = 0;
	if (!ok)
		return -1;
	*out = (uint64_t)v;
	return 0;
}

int parse_idle_ms_arg(const char *text, int *out)
{
	uint64_t ms = 0;
	if (parse_count_arg(text, 86400000, &ms) != 0)
		return -1;
	*out = ms == 0 ? -1 : (int)ms;
	return 0;
}

int fd_wait(int fd, short events, int timeout_ms)
{
	for (;;) {
		struct pollfd p = { .fd = fd, .events = events };
		int n = poll(&p, 1, timeout_ms);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0) {
			errno = ETIMEDOUT;
			return -1;
		}
		if (p.revents & POLLNVAL) {
			errno = EBADF;
			return -1;
		}
		/* a reader is woken by a hang-up too: the read that follows sees the end */
		if ((events & POLLIN) && (p.revents & (POLLIN | POLLHUP | POLLERR)))
			return 0;
		if (p.revents & (POLLERR | POLLHUP)) {
			errno = EPIPE;
			return -1;
		}
		if (p.revents & events)
			return 0;
	}
}

int fd_write_all(int fd, const unsigned char *buf, size_t n, int timeout_ms)
{
	while (n > 0) {
		ssize_t w = write(fd, buf, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			if (fd_wait(fd, POLLOUT, timeout_ms) != 0)
				return -1;
			continue;
		}
		if (w <= 0)
			return -1;
		buf += w;
		n -= (size_t)w;
	}
	return 0;
}
