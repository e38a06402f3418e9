/* Host directories bound into a replica's root (volumes), still as host
 * root in the launcher's private mount namespace. The source must be an
 * absolute real directory (no symlink anywhere in its path); the target is
 * walked beneath the merged root one component at a time, so a bundle that
 * ships `data -> /` cannot aim the bind at the host. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <unistd.h>

#include "common.h"

int bind_restricted(int source_fd, int (*open_target)(const void *ctx), const void *ctx, unsigned long flags)
{
	char source[64], target[64];
	int t = open_target(ctx);
	if (t < 0)
		return -1;
	int r = mount(fd_path(source, sizeof source, source_fd), fd_path(target, sizeof target, t), NULL, MS_BIND, NULL);
	int saved = errno;
	close(t);
	if (r < 0) {
		errno = saved;
		return -1;
	}
	t = open_target(ctx);
	if (t < 0)
		return -1;
	r = mount(NULL, fd_path(target, sizeof target, t), NULL, MS_BIND | MS_REMOUNT | flags, NULL);
	saved = errno;
	close(t);
	errno = saved;
	return r;
}

struct dir_target {
	int rootfd;
	const char *rel;
};

static int open_dir_target(const void *ctx)
{
	const struct dir_target *d = ctx;
	return safe_open_dir(d->rootfd, d->rel, 1, 0755);
}

static void die_mount(const char *what, const char *path, int err) __attribute__((noreturn));
static void die_mount(const char *what, const char *path, int err)
{
	char msg[512];
	snprintf(msg, sizeof msg, "%s %s: %s", what, path,
		 err == ELOOP ? "symlink in path refused" : err == ENOTDIR ? "not a directory" : strerror(err));
	die_msg("mounts", msg);
}

void bind_mounts(const struct launch_spec *s, int rootfd)
{
	int hostroot = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (hostroot < 0)
		die_stage("mounts", errno);
	for (size_t i = 0; s->mounts[i]; i += 3) {
		const char *mode = s->mounts[i], *src = s->mounts[i + 1], *tgt = s->mounts[i + 2];
		if (src[0] != '/' || tgt[0] != '/' || tgt[1] == '\0')
			die_msg("mounts", "source and target must be absolute paths");
		int sfd = safe_open_dir(hostroot, src + 1, 0, 0);
		if (sfd < 0)
			die_mount("source", src, errno);
		struct dir_target dt = { rootfd, tgt + 1 };
		unsigned long flags = MS_NOSUID | MS_NODEV | (strcmp(mode, "ro") == 0 ? MS_RDONLY : 0);
		if (bind_restricted(sfd, open_dir_target, &dt, flags) < 0)
			die_mount("target", tgt, errno);
		close(sfd);
	}
	close(hostroot);
}
