/* Socket relay run by pid 1: every connection accepted on the replica's Unix
 * socket is paired with a non-blocking TCP connection to 127.0.0.1:<port>
 * inside the network namespace, and bytes are shuttled both ways from one
 * epoll loop (level-triggered; interest follows buffer state). Buffers are
 * allocated per connection, so an idle replica holds none. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common.h"

#define BUF_SIZE 16384

struct conn;

struct endpoint {
	struct conn *conn;
	int fd;
	unsigned int armed; /* epoll events currently registered */
	int detached;       /* hung up and drained: no longer in the epoll set */
};

/* direction 0: client -> upstream, direction 1: upstream -> client */
struct conn {
	struct endpoint ep[2]; /* 0 = client (unix), 1 = upstream (tcp) */
	char *buf[2];
	size_t len[2], off[2];
	int eof[2];      /* reader of direction d saw EOF */
	int shut[2];     /* shutdown(SHUT_WR) sent for direction d */
	int connecting;
	int dead;          /* closed; freed after the current epoll batch */
	struct conn *next; /* graveyard link */
};

struct relay {
	int epfd;
	int lfd;
	int port;
	struct endpoint listener;
	struct conn *graveyard;
};

static void endpoint_arm(struct relay *r, struct endpoint *e, unsigned int want)
{
	if (e->fd < 0 || e->detached || e->armed == want)
		return;
	struct epoll_event ev = { .events = want, .data.ptr = e };
	epoll_ctl(r->epfd, EPOLL_CTL_MOD, e->fd, &ev);
	e->armed = want;
}

/* Close both sockets now; the struct itself is freed by relay_reap() once
 * the current batch of epoll events (which may still point at it) is done. */
static void conn_close(struct relay *r, struct conn *c)
{
	if (c->dead)
		return;
	c->dead = 1;
	for (int i = 0; i < 2; i++) {
		if (c->ep[i].fd >= 0) {
			epoll_ctl(r->epfd, EPOLL_CTL_DEL, c->ep[i].fd, NULL);
			close(c->ep[i].fd);
			c->ep[i].fd = -1;
		}
	}
	c->next = r->graveyard;
	r->graveyard = c;
}

void relay_reap(struct relay *r)
{
	if (!r)
		return;
	while (r->graveyard) {
		struct conn *c = r->graveyard;
		r->graveyard = c->next;
		free(c->buf[0]);
		free(c->buf[1]);
		free(c);
	}
}

/* Move bytes for direction d (src = ep[d], dst = ep[1-d]). Returns -1 on a
 * fatal socket error. */
static int pump(struct conn *c, int d)
{
	int src = c->ep[d].fd, dst = c->ep[1 - d].fd;
	for (;;) {
		if (c->len[d] > c->off[d]) {
			ssize_t n = send(dst, c->buf[d] + c->off[d], c->len[d] - c->off[d], MSG_NOSIGNAL);
			if (n < 0) {
				if (errno == EINTR)
					continue;
				return errno == EAGAIN ? 0 : -1;
			}
			c->off[d] += (size_t)n;
			if (c->off[d] < c->len[d])
				return 0;
			c->off[d] = c->len[d] = 0;
		}
		if (c->eof[d]) {
			if (!c->shut[d]) {
				shutdown(dst, SHUT_WR);
				c->shut[d] = 1;
			}
			return 0;
		}
		ssize_t n = recv(src, c->buf[d], BUF_SIZE, 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return errno == EAGAIN ? 0 : -1;
		}
		if (n == 0) {
			c->eof[d] = 1;
			continue;
		}
		c->len[d] = (size_t)n;
	}
}

static void conn_update(struct relay *r, struct conn *c)
{
	if (c->shut[0] && c->shut[1]) {
		conn_close(r, c);
		return;
	}
	for (int i = 0; i < 2; i++) {
		unsigned int want = 0;
		/* read from ep[i] when direction i has room and is open */
		if (!c->eof[i] && c->len[i] == 0)
			want |= EPOLLIN;
		/* write to ep[i] when direction 1-i has pending bytes */
		if (c->len[1 - i] > c->off[1 - i])
			want |= EPOLLOUT;
		endpoint_arm(r, &c->ep[i], want);
	}
}

static void conn_step(struct relay *r, struct conn *c)
{
	if (c->connecting) {
		int err = 0;
		socklen_t l = sizeof err;
		if (getsockopt(c->ep[1].fd, SOL_SOCKET, SO_ERROR, &err, &l) < 0 || err != 0) {
			conn_close(r, c);
			return;
		}
		c->connecting = 0;
		/* nothing registered for the client while connecting */
		struct epoll_event ev = { .events = 0, .data.ptr = &c->ep[0] };
		if (epoll_ctl(r->epfd, EPOLL_CTL_ADD, c->ep[0].fd, &ev) < 0) {
			conn_close(r, c);
			return;
		}
		c->ep[0].armed = 0;
	}
	if (pump(c, 0) < 0 || pump(c, 1) < 0) {
		conn_close(r, c);
		return;
	}
	conn_update(r, c);
}

static void accept_all(struct relay *r)
{
	for (;;) {
		int cfd = accept4(r->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (cfd < 0)
			return; /* EAGAIN, or a transient error: wait for the next event */
		struct conn *c = calloc(1, sizeof *c);
		int tfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (!c || tfd < 0) {
			free(c);
			if (tfd >= 0)
				close(tfd);
			close(cfd);
			continue;
		}
		c->ep[0] = (struct endpoint){ .conn = c, .fd = cfd, .armed = 0 };
		c->ep[1] = (struct endpoint){ .conn = c, .fd = tfd, .armed = EPOLLOUT };
		c->buf[0] = malloc(BUF_SIZE);
		c->buf[1] = malloc(BUF_SIZE);
		int one = 1;
		setsockopt(tfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
		struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)r->port) };
		sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		int rc = connect(tfd, (struct sockaddr *)&sa, sizeof sa);
		if (!c->buf[0] || !c->buf[1] || (rc < 0 && errno != EINPROGRESS)) {
			c->ep[1].fd = -1;
			close(tfd);
			close(cfd);
			free(c->buf[0]);
			free(c->buf[1]);
			free(c);
			continue;
		}
		c->connecting = 1;
		struct epoll_event ev = { .events = EPOLLOUT, .data.ptr = &c->ep[1] };
		if (epoll_ctl(r->epfd, EPOLL_CTL_ADD, tfd, &ev) < 0) {
			close(tfd);
			close(cfd);
			free(c->buf[0]);
			free(c->buf[1]);
			free(c);
		}
	}
}

struct relay *relay_new(int epfd, int lfd, int port)
{
	struct relay *r = calloc(1, sizeof *r);
	if (!r)
		return NULL;
	r->epfd = epfd;
	r->lfd = lfd;
	r->port = port;
	r->listener = (struct endpoint){ .conn = NULL, .fd = lfd, .armed = EPOLLIN };
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = &r->listener };
	if (epoll_ctl(epfd, EPOLL_CTL_ADD, lfd, &ev) < 0) {
		free(r);
		return NULL;
	}
	return r;
}

void relay_event(struct relay *r, void *tag, unsigned int events)
{
	(void)events;
	if (!r)
		return;
	struct endpoint *e = tag;
	if (e == &r->listener) {
		accept_all(r);
		return;
	}
	struct conn *c = e->conn;
	if (c->dead)
		return;
	conn_step(r, c);
	if (c->dead || !(events & (EPOLLHUP | EPOLLERR)))
		return;
	/* A hung-up socket keeps reporting EPOLLHUP; without this the loop
	 * would spin until the other side finishes. */
	if (e == &c->ep[0]) {
		/* the client is gone entirely: nothing left can be delivered */
		conn_close(r, c);
	} else if (c->eof[1] && !e->detached) {
		/* upstream closed and fully read: stop watching it; the client side
		 * finishes on its own (its EOF shuts the connection down) */
		epoll_ctl(r->epfd, EPOLL_CTL_DEL, e->fd, NULL);
		e->detached = 1;
		c->len[0] = c->off[0] = 0;
		if (c->shut[0] && c->shut[1])
			conn_close(r, c);
	}
}
