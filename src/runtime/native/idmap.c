/* Idmapped rootfs (ADR 0822): a bundle that keeps the image's own owners is
 * mounted through an idmapped clone, so that inside the replica its files
 * belong to the namespace's ids exactly as a shifted bundle's do.
 *
 * - idmap_userns_fd: a user namespace with the replica's map, held by an fd
 *   (a short-lived child makes it; its namespace outlives it through the fd).
 * - idmap_clone_at: an idmapped clone of a directory, attached at an empty
 *   directory of the launcher's private mount namespace.
 * - `denia-init probe-idmap <dir>`: whether this kernel and the file system
 *   of <dir> can do both and use the clone as an overlay lower layer. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common.h"

#ifndef SYS_open_tree
#define SYS_open_tree 428
#endif
#ifndef SYS_move_mount
#define SYS_move_mount 429
#endif
#ifndef SYS_mount_setattr
#define SYS_mount_setattr 442
#endif
#ifndef OPEN_TREE_CLONE
#define OPEN_TREE_CLONE 1
#endif
#ifndef OPEN_TREE_CLOEXEC
#define OPEN_TREE_CLOEXEC O_CLOEXEC
#endif
#ifndef MOVE_MOUNT_F_EMPTY_PATH
#define MOVE_MOUNT_F_EMPTY_PATH 0x00000004
#endif
#ifndef MOUNT_ATTR_IDMAP
#define MOUNT_ATTR_IDMAP 0x00100000
#endif

struct denia_mount_attr {
	uint64_t attr_set;
	uint64_t attr_clr;
	uint64_t propagation;
	uint64_t userns_fd;
};

int idmap_userns_fd(unsigned long base, unsigned long size)
{
	int ready[2], hold[2];
	if (pipe2(ready, O_CLOEXEC) < 0)
		return -1;
	if (pipe2(hold, O_CLOEXEC) < 0) {
		int err = errno;
		close(ready[0]);
		close(ready[1]);
		errno = err;
		return -1;
	}
	pid_t pid = fork();
	if (pid < 0) {
		int err = errno;
		close(ready[0]);
		close(ready[1]);
		close(hold[0]);
		close(hold[1]);
		errno = err;
		return -1;
	}
	if (pid == 0) {
		char c = unshare(CLONE_NEWUSER) == 0 ? 'u' : 'x';
		close(hold[1]);
		(void)write(ready[1], &c, 1);
		(void)read(hold[0], &c, 1); /* until the parent has the namespace's fd */
		_exit(0);
	}
	close(ready[1]);
	close(hold[0]);
	char c = 0, path[64], map[96];
	int fd = -1, err = 0;
	if (read(ready[0], &c, 1) != 1 || c != 'u') {
		err = c == 'x' ? EPERM : EIO;
		goto out;
	}
	snprintf(map, sizeof map, "0 %lu %lu\n", base, size);
	snprintf(path, sizeof path, "/proc/%d/uid_map", (int)pid);
	if (write_file(path, map) < 0) {
		err = errno;
		goto out;
	}
	snprintf(path, sizeof path, "/proc/%d/gid_map", (int)pid);
	if (write_file(path, map) < 0) {
		err = errno;
		goto out;
	}
	snprintf(path, sizeof path, "/proc/%d/ns/user", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		err = errno;
out:
	close(ready[0]);
	close(hold[1]);
	waitpid(pid, NULL, 0);
	if (fd < 0)
		errno = err;
	return fd;
}

int idmap_clone_at(const char *source, int userns_fd, const char *target)
{
	int tree = (int)syscall(SYS_open_tree, AT_FDCWD, source, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
	if (tree < 0)
		return -1;
	struct denia_mount_attr attr = { .attr_set = MOUNT_ATTR_IDMAP, .userns_fd = (uint64_t)userns_fd };
	if (syscall(SYS_mount_setattr, tree, "", AT_EMPTY_PATH, &attr, sizeof attr) < 0 ||
	    syscall(SYS_move_mount, tree, "", AT_FDCWD, target, MOVE_MOUNT_F_EMPTY_PATH) < 0) {
		int err = errno;
		close(tree);
		errno = err;
		return -1;
	}
	close(tree);
	return 0;
}

/* The probe's child: everything in a private mount namespace, reported on stdout. */
static int probe_in_child(const char *scratch)
{
	char tree[4096 + 16], lower[4096 + 16], upper[4096 + 16], work[4096 + 16], merged[4096 + 16], opts[(4096 + 16) * 3 + 64];
	const char *stage = "private mount namespace";
	if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		goto fail;
	snprintf(tree, sizeof tree, "%s/tree", scratch);
	snprintf(lower, sizeof lower, "%s/lower", scratch);
	snprintf(upper, sizeof upper, "%s/upper", scratch);
	snprintf(work, sizeof work, "%s/work", scratch);
	snprintf(merged, sizeof merged, "%s/merged", scratch);
	stage = "scratch directories";
	char probe[4096 + 32];
	snprintf(probe, sizeof probe, "%s/tree/f", scratch);
	if (mkdir(tree, 0755) < 0 || close(open(probe, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0644)) < 0 || mkdir(lower, 0700) < 0 || mkdir(upper, 0700) < 0 || mkdir(work, 0700) < 0 || mkdir(merged, 0700) < 0)
		goto fail;
	stage = "user namespace";
	int ns = idmap_userns_fd(100000, 65536);
	if (ns < 0)
		goto fail;
	stage = "idmapped mounts";
	if (idmap_clone_at(tree, ns, lower) < 0)
		goto fail;
	stage = "overlay on an idmapped lower layer";
	snprintf(opts, sizeof opts, "lowerdir=%s,upperdir=%s,workdir=%s", lower, upper, work);
	if (mount("overlay", merged, "overlay", MS_NODEV, opts) < 0)
		goto fail;
	struct stat st;
	stage = "owners through the idmapped lower layer";
	snprintf(probe, sizeof probe, "%s/f", merged);
	if (stat(probe, &st) < 0)
		goto fail;
	/* the file is owned by host root: through the map it is 100000's */
	if (st.st_uid != 100000) {
		printf("idmapped rootfs: %s: owner %u, expected 100000\n", stage, (unsigned)st.st_uid);
		return 1;
	}
	printf("ok\n");
	return 0;
fail:
	printf("idmapped rootfs: %s: %s\n", stage, strerror(errno));
	return 1;
}

int probe_idmap_main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: denia-init probe-idmap <dir>\n");
		return 2;
	}
	char scratch[4096];
	int n = snprintf(scratch, sizeof scratch, "%s/.probe-idmap-XXXXXX", argv[1]);
	if (n < 0 || (size_t)n >= sizeof scratch - 64 || !mkdtemp(scratch)) {
		printf("idmapped rootfs: scratch directory in %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		int rc = probe_in_child(scratch);
		fflush(stdout);
		_exit(rc);
	}
	int st = 0;
	if (pid < 0 || waitpid(pid, &st, 0) < 0) {
		printf("idmapped rootfs: fork: %s\n", strerror(errno));
		st = 1 << 8;
	}
	/* the child's mounts went with its namespace: only empty directories are left */
	static const char *const subdirs[] = { "work/work", "work/index", "tree", "lower", "upper", "work", "merged" };
	char p[4096 + 32];
	snprintf(p, sizeof p, "%s/tree/f", scratch);
	(void)unlink(p);
	for (size_t i = 0; i < sizeof subdirs / sizeof subdirs[0]; i++) {
		snprintf(p, sizeof p, "%s/%s", scratch, subdirs[i]);
		(void)rmdir(p);
	}
	if (rmdir(scratch) < 0)
		fprintf(stderr, "denia-init probe-idmap: %s left behind: %s\n", scratch, strerror(errno));
	return WIFEXITED(st) ? WEXITSTATUS(st) : 1;
}
