/* The workload's stdout and stderr are pipes the init creates (not the
 * sockets Node hands the helper): images that open /dev/stdout or
 * /dev/stderr as files (nginx, many others) need a node that open(2)
 * accepts, which a socket is not. The init copies both pipes to its own
 * fd 1 and 2, which go to the service log, and drains them before it
 * reports the exit so the last lines before a crash are never lost. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common.h"

static int tags[2]; /* epoll tags: &tags[0] = stdout, &tags[1] = stderr */

int stdio_pipes_open(struct stdio_pipes *p)
{
	p->out[0] = p->out[1] = p->err[0] = p->err[1] = -1;
	if (pipe2(p->out, O_CLOEXEC) < 0 || pipe2(p->err, O_CLOEXEC) < 0)
		return -1;
	if (fcntl(p->out[0], F_SETFL, O_NONBLOCK) < 0 || fcntl(p->err[0], F_SETFL, O_NONBLOCK) < 0)
		return -1;
	/* the copies to our own stdout/stderr block rather than drop lines */
	for (int fd = 1; fd <= 2; fd++) {
		int fl = fcntl(fd, F_GETFL);
		if (fl >= 0 && (fl & O_NONBLOCK))
			(void)fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
	}
	return 0;
}

int stdio_pipes_attach(struct stdio_pipes *p, uid_t uid, gid_t gid)
{
	/* reopening /proc/self/fd/1 checks the pipe inode's owner and mode
	 * (0600 at creation): the workload's user owns them, and any user it
	 * drops to (gosu, nginx workers) may open them for writing, not reading */
	for (int i = 0; i < 2; i++) {
		int fd = i == 0 ? p->out[1] : p->err[1];
		if (fchown(fd, uid, gid) < 0 || fchmod(fd, 0622) < 0)
			return errno;
	}
	if (dup2(p->out[1], 1) < 0 || dup2(p->err[1], 2) < 0)
		return errno;
	return 0;
}

int stdio_pipes_watch(struct stdio_pipes *p, int epfd)
{
	close(p->out[1]);
	close(p->err[1]);
	p->out[1] = p->err[1] = -1;
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = &tags[0] };
	if (epoll_ctl(epfd, EPOLL_CTL_ADD, p->out[0], &ev) < 0)
		return -1;
	ev.data.ptr = &tags[1];
	return epoll_ctl(epfd, EPOLL_CTL_ADD, p->err[0], &ev);
}

/* Copy what is readable now; on EOF or error close the read end (which
 * also drops it from the epoll set). */
static void pump(int *fd, int to)
{
	char buf[65536];
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

int stdio_pipes_event(struct stdio_pipes *p, void *tag)
{
	if (tag == &tags[0]) {
		if (p->out[0] >= 0)
			pump(&p->out[0], 1);
		return 1;
	}
	if (tag == &tags[1]) {
		if (p->err[0] >= 0)
			pump(&p->err[0], 2);
		return 1;
	}
	return 0;
}

void stdio_pipes_drain(struct stdio_pipes *p)
{
	if (p->out[0] >= 0)
		pump(&p->out[0], 1);
	if (p->err[0] >= 0)
		pump(&p->err[0], 2);
}
