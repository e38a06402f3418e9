/* The workload's stdout and stderr are pipes (not the sockets Node hands the
 * helper): images that open /dev/stdout or /dev/stderr as files (nginx and
 * many others) need a node that open(2) accepts, which a socket is not.
 *
 * The launcher creates them while still host root, owned by the workload's
 * (shifted) uid/gid with mode 0622 — reopening /proc/self/fd/1 checks the
 * pipe inode's owner and mode, and any user the workload drops to (gosu,
 * nginx workers) may open them for writing, never for reading. The write
 * ends travel through the init to the workload; the launcher keeps the read
 * ends and copies them to its own stdout/stderr (the service log). It is a
 * process of its own, so a slow log reader never stalls the init's socket
 * relay, and once the init is gone (and with it every process of the pid
 * namespace, so every writer) it reads both pipes to EOF: nothing written
 * before the exit is lost. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common.h"

int stdio_pipes_open(struct stdio_pipes *p, uid_t uid, gid_t gid)
{
	p->out[0] = p->out[1] = p->err[0] = p->err[1] = -1;
	if (pipe2(p->out, O_CLOEXEC) < 0 || pipe2(p->err, O_CLOEXEC) < 0)
		return -1;
	if (fcntl(p->out[0], F_SETFL, O_NONBLOCK) < 0 || fcntl(p->err[0], F_SETFL, O_NONBLOCK) < 0)
		return -1;
	if (fchown(p->out[1], uid, gid) < 0 || fchmod(p->out[1], 0622) < 0 || fchown(p->err[1], uid, gid) < 0 ||
	    fchmod(p->err[1], 0622) < 0)
		return -1;
	/* the copies to our own stdout/stderr block rather than drop lines */
	for (int fd = 1; fd <= 2; fd++) {
		int fl = fcntl(fd, F_GETFL);
		if (fl >= 0 && (fl & O_NONBLOCK))
			(void)fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
	}
	return 0;
}

int stdio_pipes_attach(const struct stdio_pipes *p)
{
	if (dup2(p->out[1], 1) < 0 || dup2(p->err[1], 2) < 0)
		return errno;
	return 0;
}

void stdio_pipes_close_write(struct stdio_pipes *p)
{
	if (p->out[1] >= 0)
		close(p->out[1]);
	if (p->err[1] >= 0)
		close(p->err[1]);
	p->out[1] = p->err[1] = -1;
}

void stdio_pipes_close_read(struct stdio_pipes *p)
{
	if (p->out[0] >= 0)
		close(p->out[0]);
	if (p->err[0] >= 0)
		close(p->err[0]);
	p->out[0] = p->err[0] = -1;
}

/* Copy what is readable now; on EOF or error close the read end. */
static void pump(int *fd, int to)
{
	/* static: pages of an idle replica's launcher stay untouched (a stack
	 * array this size is probed page by page on every call) */
	static char buf[65536];
	for (;;) {
		ssize_t n = read(*fd, buf, sizeof buf);
		if (n > 0) {
			(void)write_all(to, buf, (size_t)n);
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		close(*fd);
		*fd = -1;
		return;
	}
}

void stdio_pipes_poll_fds(const struct stdio_pipes *p, struct pollfd *pfds)
{
	pfds[0] = (struct pollfd){ .fd = p->out[0], .events = POLLIN };
	pfds[1] = (struct pollfd){ .fd = p->err[0], .events = POLLIN };
}

void stdio_pipes_pump(struct stdio_pipes *p, const struct pollfd *pfds)
{
	if (p->out[0] >= 0 && pfds[0].revents)
		pump(&p->out[0], 1);
	if (p->err[0] >= 0 && pfds[1].revents)
		pump(&p->err[0], 2);
}

void stdio_pipes_drain(struct stdio_pipes *p)
{
	/* every writer is gone: this reaches EOF; EAGAIN would mean a writer
	 * outlived the pid namespace, and then what is there is what we take */
	if (p->out[0] >= 0)
		pump(&p->out[0], 1);
	if (p->err[0] >= 0)
		pump(&p->err[0], 2);
}
