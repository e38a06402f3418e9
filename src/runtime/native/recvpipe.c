/*
 * denia-init recv-pipe <fd> <count> <idle-ms> <head-fd> [<copy-fd>]: a request body that bypasses the
 * daemon (ADR 0904). The daemon has stopped reading the HTTP connection <fd> (a socket, its own,
 * non-blocking) and hands over what its parser already took as stdin (at most 1 MiB). The body's
 * first 4 bytes (fewer if it is shorter) go to <head-fd>, which is then closed: the daemon picks the
 * decompressor from them. Then stdin goes to stdout, and exactly <count> more bytes move from <fd> to
 * stdout (the decompressor's or the tar gate's pipe) with splice(2). With <copy-fd> (a file) every byte
 * also goes there, through tee(2): the stored copy of an upload, written with O_DIRECT where the file
 * system takes it (copysink.c, ADR 0821). <fd> is waited for with poll(2), at most <idle-ms> (the API's
 * idle timeout) at a time. Nothing is read past <count>; <fd> is neither shut down nor closed here. Exit 0 once <count>
 * bytes moved; 3 when the client closed the connection first; 4 when it sent nothing for <idle-ms>;
 * 1 with one line on stderr on any other error (a consumer that went away: EPIPE, SIGPIPE ignored).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common.h"

#define RP_CHUNK (1024 * 1024)
#define RP_MAX_COUNT (UINT64_C(1) << 50)
#define RP_HEAD 4
#define RP_MAX_PREFIX (1024 * 1024)

static unsigned char rp_buf[64 * 1024];
static unsigned char rp_prefix_buf[RP_MAX_PREFIX + RP_HEAD];
static size_t rp_prefix_len;
static int rp_copy = -1;
static int rp_idle_ms = -1;
static uint64_t rp_count, rp_moved;

static int rp_fail(const char *what)
{
	int code = errno == ETIMEDOUT ? 4 : 1;
	fprintf(stderr, "recv-pipe: %s%s%s\n", what, errno ? ": " : "", errno ? strerror(errno) : "");
	return code;
}

static int rp_short(void)
{
	fprintf(stderr, "recv-pipe: the client closed the connection after %" PRIu64 " of %" PRIu64 " bytes\n", rp_moved, rp_count);
	return 3;
}

/* Writes buf to stdout and to the copy. */
static int rp_emit(const unsigned char *buf, size_t n)
{
	if (fd_write_all(1, buf, n, -1) != 0)
		return -1;
	return rp_copy < 0 ? 0 : copysink_put(buf, n);
}

/* What the daemon's parser took already: stdin, to its end, kept in memory. */
static int rp_read_prefix(void)
{
	for (;;) {
		if (rp_prefix_len >= RP_MAX_PREFIX) {
			errno = 0;
			return rp_fail("the daemon handed over more than 1 MiB");
		}
		ssize_t r = read(0, rp_prefix_buf + rp_prefix_len, RP_MAX_PREFIX - rp_prefix_len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return rp_fail("reading what the daemon received");
		if (r == 0)
			return 0;
		rp_prefix_len += (size_t)r;
	}
}

#define RP_GOT 0
#define RP_AGAIN (-1)

/* After one receive from the socket returned r: RP_GOT (bytes arrived), RP_AGAIN (interrupted, or
 * waited until more can be read), or the exit code (the client left or stalled, an error). */
static int rp_after_receive(int in, ssize_t r)
{
	if (r > 0)
		return RP_GOT;
	if (r == 0)
		return rp_short();
	if (errno == EINTR)
		return RP_AGAIN;
	if (errno == EAGAIN || errno == EWOULDBLOCK)
		return fd_wait(in, POLLIN, rp_idle_ms) == 0 ? RP_AGAIN : rp_fail("waiting for the client");
	return rp_fail("receiving");
}

/* Tops the prefix up to the body's first RP_HEAD bytes from the socket (read by hand, never past them) and tells them on head_fd. */
static int rp_send_head(int in, int head_fd, uint64_t total)
{
	size_t head = total < RP_HEAD ? (size_t)total : RP_HEAD;
	while (rp_prefix_len < head) {
		ssize_t r = read(in, rp_prefix_buf + rp_prefix_len, head - rp_prefix_len);
		int next = rp_after_receive(in, r);
		if (next == RP_AGAIN)
			continue;
		if (next != RP_GOT)
			return next;
		rp_prefix_len += (size_t)r;
		rp_moved += (uint64_t)r;
	}
	if (fd_write_all(head_fd, rp_prefix_buf, head, -1) != 0)
		return rp_fail("telling the head");
	close(head_fd);
	return 0;
}

static size_t rp_want(size_t cap)
{
	uint64_t left = rp_count - rp_moved;
	return left < cap ? (size_t)left : cap;
}

/* Moves n bytes out of the private pipe: duplicated to stdout (tee), then moved to the copy (copysink.c). */
static int rp_tee_out(int pipe_in, size_t n)
{
	while (n > 0) {
		ssize_t t = tee(pipe_in, 1, n, 0);
		if (t < 0 && errno == EINTR)
			continue;
		if (t <= 0)
			return -1;
		if (copysink_put_from_pipe(pipe_in, (size_t)t) != 0)
			return -1;
		n -= (size_t)t;
	}
	return 0;
}

/* The body from the socket with splice(2): straight to stdout, or through a private pipe for the copy. */
static int rp_splice(int in)
{
	int priv[2] = { -1, -1 };
	if (rp_copy >= 0) {
		if (pipe2(priv, O_CLOEXEC) != 0)
			return rp_fail("making a pipe");
		(void)fcntl(priv[1], F_SETPIPE_SZ, RP_CHUNK);
	}
	while (rp_moved < rp_count) {
		int to = rp_copy >= 0 ? priv[1] : 1;
		ssize_t r = splice(in, NULL, to, NULL, rp_want(RP_CHUNK), SPLICE_F_MOVE | SPLICE_F_MORE);
		int next = rp_after_receive(in, r);
		if (next == RP_AGAIN)
			continue;
		if (next != RP_GOT)
			return next;
		if (rp_copy >= 0 && rp_tee_out(priv[0], (size_t)r) != 0)
			return rp_fail("writing the output");
		rp_moved += (uint64_t)r;
	}
	return 0;
}

/* The same by hand, where splice cannot serve (stdout not a pipe, or <fd> not a socket). */
static int rp_copy_by_hand(int in)
{
	while (rp_moved < rp_count) {
		ssize_t r = read(in, rp_buf, rp_want(sizeof rp_buf));
		int next = rp_after_receive(in, r);
		if (next == RP_AGAIN)
			continue;
		if (next != RP_GOT)
			return next;
		if (rp_emit(rp_buf, (size_t)r) != 0)
			return rp_fail("writing the output");
		rp_moved += (uint64_t)r;
	}
	return 0;
}

static int is_kind(int fd, mode_t kind)
{
	struct stat st;
	return fstat(fd, &st) == 0 && (st.st_mode & S_IFMT) == kind;
}

int recvpipe_main(int argc, char **argv)
{
	if (argc != 5 && argc != 6) {
		fprintf(stderr, "usage: denia-init recv-pipe <fd> <count> <idle-ms> <head-fd> [<copy-fd>]\n");
		return 2;
	}
	int in = parse_fd_arg(argv[1]);
	if (in < 0)
		return rp_fail("the input fd is not a number >= 3");
	if (parse_count_arg(argv[2], RP_MAX_COUNT, &rp_count) != 0)
		return rp_fail("the count is not a byte count");
	if (parse_idle_ms_arg(argv[3], &rp_idle_ms) != 0)
		return rp_fail("the idle timeout is not a number of milliseconds");
	int head_fd = parse_fd_arg(argv[4]);
	if (head_fd < 0 || head_fd == in)
		return rp_fail("the head fd is not a number >= 3 other than the input");
	if (argc == 6) {
		rp_copy = parse_fd_arg(argv[5]);
		if (rp_copy < 0 || rp_copy == in || rp_copy == head_fd)
			return rp_fail("the copy fd is not a number >= 3 other than the input and the head");
	}
	signal(SIGPIPE, SIG_IGN);
	/* a larger output pipe means fewer wakeups of its reader; refused = the default stays */
	(void)fcntl(1, F_SETPIPE_SZ, RP_CHUNK);
	int code = rp_read_prefix();
	if (code != 0)
		return code;
	/* the prefix is part of the body: what <count> leaves for the socket */
	code = rp_send_head(in, head_fd, rp_count + rp_prefix_len);
	if (code != 0)
		return code;
	if (rp_copy >= 0)
		(void)copysink_open(rp_copy);
	if (rp_emit(rp_prefix_buf, rp_prefix_len) != 0)
		return rp_fail("writing the output");
	int spliceable = is_kind(in, S_IFSOCK) && is_kind(1, S_IFIFO) && (rp_copy < 0 || is_kind(rp_copy, S_IFREG));
	code = spliceable ? rp_splice(in) : rp_copy_by_hand(in);
	if (code == 0 && rp_copy >= 0 && copysink_finish() != 0)
		return rp_fail("writing the copy");
	return code;
}
