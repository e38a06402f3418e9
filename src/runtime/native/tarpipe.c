/*
 * denia-init tar-pipe <control-fd>: moves a tar stream from stdin to stdout under the daemon's
 * command (ADR 0902). The daemon decides everything (it parses the headers and applies the policy);
 * this loop only moves bytes. Commands on the control fd (a socket): one op byte and a little-endian
 * u64 length, WRITE followed by that many bytes. Every command is answered with a little-endian u64
 * count; READ's answer is followed by that many bytes.
 *   'R' n  read up to n (<= 1 MiB) input bytes (fewer only at the end of the input), send them back
 *   'W' n  write the n (<= 1 MiB) bytes that follow to the output
 *   'S' n  move n input bytes to the output (splice(2), read/write when splice cannot), count moved
 *   'K' n  discard n input bytes, count discarded
 *   'E' 0  close the output and exit 0
 * A bad command, a short control read or an I/O error ends the process non-zero with one line on stderr.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common.h"

#define TP_MAX (1024 * 1024)

static unsigned char tp_buf[TP_MAX];
static int tp_ctl = -1;
static int tp_pipe[2] = { -1, -1 };
static int tp_direct = 1; /* splice in -> out works until it says EINVAL */
static int tp_via_pipe = 1; /* splice in -> pipe -> out works until it says EINVAL */
static size_t tp_pipe_size = 65536; /* the private pipe's capacity */

static int tp_fail(const char *what)
{
	fprintf(stderr, "tar-pipe: %s%s%s\n", what, errno ? ": " : "", errno ? strerror(errno) : "");
	return 1;
}

/* Reads exactly n bytes from fd; returns the count read (< n only at EOF), -1 on error. */
static ssize_t tp_read_full(int fd, unsigned char *buf, size_t n)
{
	size_t got = 0;
	while (got < n) {
		ssize_t r = read(fd, buf + got, n - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -1;
		if (r == 0)
			break;
		got += (size_t)r;
	}
	return (ssize_t)got;
}

/* tar-pipe's descriptors are blocking: a write never sees EAGAIN */
static int tp_write_full(int fd, const unsigned char *buf, size_t n)
{
	return fd_write_all(fd, buf, n, -1);
}

static int tp_reply(uint64_t count)
{
	unsigned char b[8];
	for (int i = 0; i < 8; i++)
		b[i] = (unsigned char)(count >> (8 * i));
	return tp_write_full(tp_ctl, b, 8);
}

/* Moves up to want bytes with splice(2); returns bytes moved (0 = EOF), -1 on error, -2 = not supported. */
static ssize_t tp_splice_once(size_t want)
{
	if (tp_direct) {
		ssize_t r = splice(0, NULL, 1, NULL, want, SPLICE_F_MOVE | SPLICE_F_MORE);
		if (r >= 0 || errno != EINVAL)
			return r;
		tp_direct = 0;
	}
	if (tp_via_pipe) {
		if (tp_pipe[0] < 0) {
			if (pipe2(tp_pipe, O_CLOEXEC) != 0)
				return -1;
			/* a larger pipe means fewer splices; the default (64 KiB) is kept when the kernel says no */
			int size = fcntl(tp_pipe[1], F_SETPIPE_SZ, 1024 * 1024);
			if (size > 0)
				tp_pipe_size = (size_t)size;
		}
		if (want > tp_pipe_size)
			want = tp_pipe_size; /* the whole chunk leaves the pipe below, so it never fills */
		ssize_t r = splice(0, NULL, tp_pipe[1], NULL, want, SPLICE_F_MOVE | SPLICE_F_MORE);
		if (r < 0 && errno == EINVAL) {
			tp_via_pipe = 0;
			return -2;
		}
		if (r <= 0)
			return r;
		size_t left = (size_t)r;
		while (left > 0) {
			ssize_t w = splice(tp_pipe[0], NULL, 1, NULL, left, SPLICE_F_MOVE | SPLICE_F_MORE);
			if (w < 0 && errno == EINTR)
				continue;
			if (w <= 0) {
				/* only bytes still in our pipe can be lost here: this is fatal, not a fallback */
				if (w == 0)
					errno = EPIPE;
				return -1;
			}
			left -= (size_t)w;
		}
		return r;
	}
	return -2;
}

/* Moves (out >= 0) or discards (out < 0) n input bytes; returns the count (< n at EOF), -1 on error. */
static int64_t tp_move(uint64_t n, int out)
{
	uint64_t done = 0;
	while (done < n) {
		size_t want = n - done > TP_MAX ? TP_MAX : (size_t)(n - done);
		ssize_t r = -2;
		if (out >= 0)
			r = tp_splice_once(want);
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1)
			return -1;
		if (r == -2) {
			r = read(0, tp_buf, want);
			if (r < 0 && errno == EINTR)
				continue;
			if (r < 0)
				return -1;
			if (r > 0 && out >= 0 && tp_write_full(out, tp_buf, (size_t)r) != 0)
				return -1;
		}
		if (r == 0)
			break;
		done += (uint64_t)r;
	}
	return (int64_t)done;
}

int tarpipe_main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: denia-init tar-pipe <control-fd>\n");
		return 2;
	}
	tp_ctl = parse_fd_arg(argv[1]);
	if (tp_ctl < 0)
		return tp_fail("the control fd is not a number >= 3");
	/* when stdin/stdout are pipes (ADR 0903), larger ones mean fewer wakeups between the decompressor,
	 * this loop and tar; on anything else, or when the kernel says no, the sizes stay as they are */
	(void)fcntl(0, F_SETPIPE_SZ, TP_MAX);
	(void)fcntl(1, F_SETPIPE_SZ, TP_MAX);
	for (;;) {
		unsigned char cmd[9];
		errno = 0;
		ssize_t got = tp_read_full(tp_ctl, cmd, sizeof cmd);
		if (got != (ssize_t)sizeof cmd) {
			if (got >= 0)
				errno = 0;
			return tp_fail(got == 0 ? "the control channel closed before END" : "a short command");
		}
		uint64_t n = 0;
		for (int i = 7; i >= 0; i--)
			n = (n << 8) | cmd[1 + i];
		errno = 0;
		switch (cmd[0]) {
		case 'R': {
			if (n > TP_MAX)
				return tp_fail("READ over 1 MiB");
			ssize_t r = tp_read_full(0, tp_buf, (size_t)n);
			if (r < 0)
				return tp_fail("reading the input");
			if (tp_reply((uint64_t)r) != 0 || tp_write_full(tp_ctl, tp_buf, (size_t)r) != 0)
				return tp_fail("answering READ");
			break;
		}
		case 'W': {
			if (n > TP_MAX)
				return tp_fail("WRITE over 1 MiB");
			ssize_t r = tp_read_full(tp_ctl, tp_buf, (size_t)n);
			if (r != (ssize_t)n) {
				if (r >= 0)
					errno = 0;
				return tp_fail("WRITE data is short");
			}
			if (tp_write_full(1, tp_buf, (size_t)n) != 0)
				return tp_fail("writing the output");
			if (tp_reply(n) != 0)
				return tp_fail("answering WRITE");
			break;
		}
		case 'S':
		case 'K': {
			if (n > (uint64_t)INT64_MAX)
				return tp_fail("a length over 2^63");
			int64_t r = tp_move(n, cmd[0] == 'S' ? 1 : -1);
			if (r < 0)
				return tp_fail(cmd[0] == 'S' ? "moving data" : "skipping data");
			if (tp_reply((uint64_t)r) != 0)
				return tp_fail("answering a move");
			break;
		}
		case 'E':
			if (n != 0)
				return tp_fail("END with a length");
			if (close(1) != 0)
				return tp_fail("closing the output");
			if (tp_reply(0) != 0)
				return tp_fail("answering END");
			return 0;
		default:
			return tp_fail("an unknown command");
		}
	}
}
