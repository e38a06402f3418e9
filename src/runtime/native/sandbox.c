/* Privileged preparation of a replica's root, run by the launcher in its own
 * (still host-owned) mount namespace before any user namespace exists:
 * overlay, /dev, mount points, /run/denia, the read-only helper bind, then
 * the spec's bind mounts (mounts.c) and /etc files (etcfiles.c).
 * Every target below the overlay root is opened with safe_open_* so symlinks
 * shipped in the bundle are refused instead of followed onto the host. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common.h"

static const char *const devices[] = { "null", "zero", "full", "random", "urandom", "tty" };

static const struct {
	const char *name;
	const char *target;
} dev_links[] = {
	{ "fd", "/proc/self/fd" },
	{ "stdin", "/proc/self/fd/0" },
	{ "stdout", "/proc/self/fd/1" },
	{ "stderr", "/proc/self/fd/2" },
	{ "ptmx", "pts/ptmx" },
};

static void check_option_path(const char *what, const char *p)
{
	if (p[0] != '/' || strpbrk(p, ",:\\") != NULL) {
		char msg[128];
		snprintf(msg, sizeof msg, "%s path must be absolute without ',', ':' or '\\'", what);
		die_msg("mount overlay", msg);
	}
}

/* Refuse symlinks on host-side directories given in the spec. */
static int open_host_dir(const char *stage, const char *path)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		int err = errno;
		char msg[160];
		snprintf(msg, sizeof msg, "%s: %s", path, err == ENOTDIR || err == ELOOP ? "not a directory or a symlink" : strerror(err));
		die_msg(stage, msg);
	}
	return fd;
}

static void die_path(const char *stage, const char *rel, int err)
{
	char msg[320];
	if (err == ELOOP)
		snprintf(msg, sizeof msg, "/%s: symlink in path refused", rel);
	else
		snprintf(msg, sizeof msg, "/%s: %s", rel, strerror(err));
	die_msg(stage, msg);
}

/* The bundle's idmapped clone (ADR 0822) at `<replica dir>/lower`: the
 * directory beside the upper dir, removed with the replica's directory. */
static const char *attach_idmapped(const struct launch_spec *s, char *lower, size_t size)
{
	const char *slash = strrchr(s->upper, '/');
	if (slash == NULL || (size_t)(slash - s->upper) + sizeof "/lower" > size)
		die_msg("idmap rootfs", "upper dir has no parent");
	memcpy(lower, s->upper, (size_t)(slash - s->upper));
	strcpy(lower + (slash - s->upper), "/lower");
	if (mkdir(lower, 0700) < 0 && errno != EEXIST)
		die_stage("idmap rootfs", errno);
	close(open_host_dir("idmap rootfs", lower));
	int ns = idmap_userns_fd(s->userns_base, s->userns_size);
	if (ns < 0)
		die_stage("idmap rootfs", errno);
	if (idmap_clone_at(s->rootfs, ns, lower) < 0)
		die_stage("idmap rootfs", errno);
	close(ns);
	return lower;
}

static void mount_overlay(const struct launch_spec *s)
{
	char opts[4096 + 64];
	char target[64];
	char lower_path[4096];
	check_option_path("rootfs", s->rootfs);
	check_option_path("upper", s->upper);
	check_option_path("work", s->work);
	int lower = open_host_dir("mount overlay", s->rootfs);
	int upper = open_host_dir("mount overlay", s->upper);
	int work = open_host_dir("mount overlay", s->work);
	int merged = open_host_dir("mount overlay", s->merged);
	close(lower);
	close(upper);
	close(work);
	const char *lowerdir = s->rootfs_idmap ? attach_idmapped(s, lower_path, sizeof lower_path) : s->rootfs;
	int n = snprintf(opts, sizeof opts, "lowerdir=%s,upperdir=%s,workdir=%s", lowerdir, s->upper, s->work);
	if (n < 0 || (size_t)n >= sizeof opts)
		die_msg("mount overlay", "paths too long");
	if (mount("overlay", fd_path(target, sizeof target, merged), "overlay", MS_NODEV, opts) < 0)
		die_stage("mount overlay", errno);
	close(merged);
	/* the overlay holds its own clone of its layers: the attached one can go */
	if (s->rootfs_idmap && umount2(lowerdir, MNT_DETACH) < 0)
		die_stage("idmap rootfs", errno);
}

static void mount_dev(int rootfd)
{
	char target[64], source[64];
	int d = safe_open_dir(rootfd, "dev", 1, 0755);
	if (d < 0)
		die_path("mount dev", "dev", errno);
	if (mount("tmpfs", fd_path(target, sizeof target, d), "tmpfs", MS_NOSUID | MS_NOEXEC | MS_STRICTATIME,
		  "mode=755,size=65536k") < 0)
		die_stage("mount dev", errno);
	close(d);
	/* reopen: now the fresh tmpfs */
	d = safe_open_dir(rootfd, "dev", 0, 0);
	if (d < 0)
		die_path("mount dev", "dev", errno);
	for (size_t i = 0; i < sizeof devices / sizeof devices[0]; i++) {
		int f = safe_open_file(d, devices[i], 0666);
		if (f < 0)
			die_path("mount dev", devices[i], errno);
		snprintf(source, sizeof source, "/dev/%s", devices[i]);
		if (mount(source, fd_path(target, sizeof target, f), NULL, MS_BIND, NULL) < 0)
			die_stage("mount dev", errno);
		close(f);
	}
	if (mkdirat(d, "pts", 0755) < 0 || mkdirat(d, "shm", 01777) < 0)
		die_stage("mount dev", errno);
	for (size_t i = 0; i < sizeof dev_links / sizeof dev_links[0]; i++)
		if (symlinkat(dev_links[i].target, d, dev_links[i].name) < 0)
			die_stage("mount dev", errno);
	close(d);
}

static void bind_run(const struct launch_spec *s, int rootfd)
{
	char target[64], source[64];
	int src = open_host_dir("mount run", s->sock_dir);
	/* pid 1 inside runs as the namespace's root: let it create the socket */
	if (fchown(src, (uid_t)s->userns_base, (gid_t)s->userns_base) < 0 || fchmod(src, 0711) < 0)
		die_stage("mount run", errno);
	int r = safe_open_dir(rootfd, "run/denia", 1, 0755);
	if (r < 0)
		die_path("mount run", "run/denia", errno);
	if (mount(fd_path(source, sizeof source, src), fd_path(target, sizeof target, r), NULL, MS_BIND, NULL) < 0)
		die_stage("mount run", errno);
	close(r);
	close(src);
}

static void bind_helper(int rootfd)
{
	char target[64], source[64];
	/* /proc/self/exe points into the mount namespace we were started in;
	 * a bind source must live in the current one, so go through the path */
	char exe[4096];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
	if (n < 0)
		die_stage("mount helper", errno);
	exe[n] = '\0';
	int self = open(exe, O_PATH | O_CLOEXEC);
	if (self < 0)
		die_stage("mount helper", errno);
	int f = safe_open_file(rootfd, ".denia/denia-init", 0755);
	if (f < 0)
		die_path("mount helper", ".denia/denia-init", errno);
	if (mount(fd_path(source, sizeof source, self), fd_path(target, sizeof target, f), NULL, MS_BIND, NULL) < 0)
		die_stage("mount helper", errno);
	close(f);
	close(self);
	/* reopen so the remount addresses the new bind, not the file under it */
	f = safe_open_file(rootfd, ".denia/denia-init", 0755);
	if (f < 0)
		die_path("mount helper", ".denia/denia-init", errno);
	if (mount(NULL, fd_path(target, sizeof target, f), NULL,
		  MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV, NULL) < 0)
		die_stage("mount helper", errno);
	close(f);
}

static void make_dir(int rootfd, const char *rel, mode_t mode, int force_mode)
{
	int d = safe_open_dir(rootfd, rel, 1, mode);
	if (d < 0)
		die_path("mkdir", rel, errno);
	if (force_mode && fchmod(d, mode) < 0)
		die_stage("mkdir", errno);
	close(d);
}

int prepare_rootfs(const struct launch_spec *s)
{
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		die_stage("mount private", errno);
	mount_overlay(s);
	int rootfd = open(s->merged, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (rootfd < 0)
		die_stage("mount overlay", errno);
	mount_dev(rootfd);
	make_dir(rootfd, "proc", 0555, 0);
	make_dir(rootfd, "sys", 0555, 0);
	make_dir(rootfd, "tmp", 01777, 1);
	bind_run(s, rootfd);
	bind_helper(rootfd);
	if (strcmp(s->workdir, "/") != 0) {
		int w = safe_open_dir(rootfd, s->workdir + 1, 1, 0755);
		if (w < 0)
			die_path("workdir", s->workdir + 1, errno);
		close(w);
	}
	bind_mounts(s, rootfd);
	bind_etc_files(s, rootfd);
	return rootfd;
}
