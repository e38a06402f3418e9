/* Status channel: one line per event, written with a single write(2) so lines
 * from different processes never interleave. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common.h"

int g_status_fd = 3;

ssize_t write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;
	size_t done = 0;
	while (done < len) {
		ssize_t n = write(fd, p + done, len - done);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		done += (size_t)n;
	}
	return (ssize_t)done;
}

void status_line(const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf, sizeof buf - 1, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n > sizeof buf - 2)
		n = (int)sizeof buf - 2;
	/* status lines are single lines */
	for (int i = 0; i < n; i++)
		if (buf[i] == '\n')
			buf[i] = ' ';
	buf[n++] = '\n';
	if (g_status_fd >= 0)
		(void)write_all(g_status_fd, buf, (size_t)n);
}

void die_msg(const char *stage, const char *msg)
{
	status_line("failed %s: %s", stage, msg);
	_exit(1);
}

void die_stage(const char *stage, int err)
{
	die_msg(stage, strerror(err));
}

int write_file(const char *path, const char *data)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t n = write_all(fd, data, strlen(data));
	int saved = errno;
	close(fd);
	errno = saved;
	return n < 0 ? -1 : 0;
}
