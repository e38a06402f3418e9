/*
 * denia-init send-pipe <fd> [<idle-ms>]: copies stdin to <fd> until stdin ends (ADR 0903). The daemon
 * gives it the read end of the pipe a backup's producer (zstd, or tar) writes, and the HTTP connection's
 * socket as <fd>, after it has written the response head itself: the archive then reaches the socket
 * with splice(2), never passing through the daemon. The socket is the daemon's own (non-blocking), so a
 * full send buffer is waited for with poll(2) — at most <idle-ms> (the API's idle timeout; default: for
 * ever), so a client that stops reading is cut as the daemon would cut it. stdin is a blocking pipe. A
 * peer that goes away ends this with an error (SIGPIPE is ignored, EPIPE reported). The socket is
 * neither shut down nor closed here: that is the daemon's. Exit 0 at the end of stdin, 1 with one line
 * on stderr on any error, 4 when the client took nothing for <idle-ms>.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common.h"

#define SP_CHUNK (1024 * 1024)

static unsigned char sp_buf[64 * 1024];

static int sp_fail(const char *what)
{
	int timed_out = errno == ETIMEDOUT;
	fprintf(stderr, "send-pipe: %s%s%s\n", what, errno ? ": " : "", errno ? strerror(errno) : "");
	return timed_out ? 4 : 1;
}

int sendpipe_main(int argc, char **argv)
{
	if (argc != 2 && argc != 3) {
		fprintf(stderr, "usage: denia-init send-pipe <fd> [<idle-ms>]\n");
		return 2;
	}
	int out = parse_fd_arg(argv[1]);
	if (out < 0)
		return sp_fail("the output fd is not a number >= 3");
	int idle_ms = -1;
	if (argc == 3 && parse_idle_ms_arg(argv[2], &idle_ms) != 0)
		return sp_fail("the idle timeout is not a number of milliseconds");
	signal(SIGPIPE, SIG_IGN);
	/* a larger input pipe means fewer wakeups of the producer; refused = the default stays */
	(void)fcntl(0, F_SETPIPE_SZ, SP_CHUNK);
	int use_splice = 1;
	for (;;) {
		if (use_splice) {
			ssize_t r = splice(0, NULL, out, NULL, SP_CHUNK, SPLICE_F_MOVE | SPLICE_F_MORE);
			if (r > 0)
				continue;
			if (r == 0)
				return 0;
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK) {
				if (fd_wait(out, POLLOUT, idle_ms) != 0)
					return sp_fail("waiting for the output");
				continue;
			}
			if (errno != EINVAL)
				return sp_fail("sending");
			/* stdin is not a pipe, or out takes no splice: copy by hand */
			use_splice = 0;
		}
		ssize_t r = read(0, sp_buf, sizeof sp_buf);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return sp_fail("reading the input");
		if (r == 0)
			return 0;
		if (fd_write_all(out, sp_buf, (size_t)r, idle_ms) != 0)
			return sp_fail("sending");
	}
}
