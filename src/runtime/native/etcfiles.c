/* The generated /etc/hosts, /etc/hostname and /etc/resolv.conf (written by
 * the runtime into the replica dir) are bound read-only over the rootfs
 * paths, as container engines do. /etc is walked without following
 * symlinks; a leaf that is a symlink (e.g. resolv.conf -> ../run/...) is
 * replaced by a regular file in the replica's own overlay upper layer, so
 * nothing outside the merged root is ever followed. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common.h"

struct file_target {
	int etcfd;
	const char *name;
};

static int open_file_target(const void *ctx)
{
	const struct file_target *f = ctx;
	int fd = openat(f->etcfd, f->name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_CREAT, 0644);
	if (fd < 0)
		return -1;
	struct stat st;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		errno = EISDIR;
		return -1;
	}
	return fd;
}

static void die_etc(const char *name, int err) __attribute__((noreturn));
static void die_etc(const char *name, int err)
{
	char msg[320];
	snprintf(msg, sizeof msg, "/etc/%s: %s", name,
		 err == ELOOP ? "symlink in path refused" : err == EISDIR ? "not a regular file" : strerror(err));
	die_msg("etc files", msg);
}

static void bind_one(int etcfd, const char *name, const char *source)
{
	struct stat st;
	if (fstatat(etcfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode) &&
	    unlinkat(etcfd, name, 0) < 0)
		die_etc(name, errno);
	int src = open(source, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (src < 0)
		die_etc(name, errno);
	struct file_target ft = { etcfd, name };
	if (bind_restricted(src, open_file_target, &ft, MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC) < 0)
		die_etc(name, errno);
	close(src);
}

void bind_etc_files(const struct launch_spec *s, int rootfd)
{
	if (!s->etc_hosts && !s->etc_hostname && !s->etc_resolv)
		return;
	int etcfd = safe_open_dir(rootfd, "etc", 1, 0755);
	if (etcfd < 0) {
		int err = errno;
		die_msg("etc files", err == ELOOP ? "/etc: symlink in path refused" : strerror(err));
	}
	if (s->etc_hosts)
		bind_one(etcfd, "hosts", s->etc_hosts);
	if (s->etc_hostname)
		bind_one(etcfd, "hostname", s->etc_hostname);
	if (s->etc_resolv)
		bind_one(etcfd, "resolv.conf", s->etc_resolv);
	close(etcfd);
}
