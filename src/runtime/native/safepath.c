/* Symlink-safe path walking beneath a directory fd. Every mount target the
 * launcher creates inside a replica's root goes through here, so a bundle
 * that ships e.g. `run -> /etc` can never redirect a privileged mount or
 * mkdir onto the host. Targets are then addressed as /proc/self/fd/<n>. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common.h"

uid_t g_create_uid = (uid_t)-1;
gid_t g_create_gid = (gid_t)-1;

const char *fd_path(char *buf, size_t len, int fd)
{
	snprintf(buf, len, "/proc/self/fd/%d", fd);
	return buf;
}

/* Open one component as a directory without following a symlink. */
static int open_component(int dirfd, const char *name, int create, mode_t mode)
{
	int made = 0;
	for (int attempt = 0; attempt < 2; attempt++) {
		int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd >= 0) {
			if (made && g_create_uid != (uid_t)-1 && fchown(fd, g_create_uid, g_create_gid) < 0) {
				int saved = errno;
				close(fd);
				errno = saved;
				return -1;
			}
			return fd;
		}
		if (errno == ENOENT && create && attempt == 0) {
			if (mkdirat(dirfd, name, mode) < 0) {
				if (errno != EEXIST)
					return -1;
			} else {
				made = 1;
			}
			continue;
		}
		if (errno == ENOTDIR || errno == ELOOP) {
			struct stat st;
			if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode))
				errno = ELOOP;
		}
		return -1;
	}
	return -1;
}

/* Split rel into components, walking them one by one. When `leaf` is given,
 * the last component is not opened; its name is copied into leaf and the
 * parent directory fd is returned. */
static int walk(int rootfd, const char *rel, int create, mode_t mode, char *leaf, size_t leaf_len)
{
	char buf[4096];
	if (strlen(rel) >= sizeof buf) {
		errno = ENAMETOOLONG;
		return -1;
	}
	strcpy(buf, rel);
	int cur = dup(rootfd);
	if (cur < 0)
		return -1;
	char *save = NULL;
	char *comp = strtok_r(buf, "/", &save);
	while (comp) {
		char *next = strtok_r(NULL, "/", &save);
		if (strcmp(comp, ".") == 0 || strcmp(comp, "..") == 0) {
			close(cur);
			errno = EINVAL;
			return -1;
		}
		if (!next && leaf) {
			if (strlen(comp) >= leaf_len) {
				close(cur);
				errno = ENAMETOOLONG;
				return -1;
			}
			strcpy(leaf, comp);
			return cur;
		}
		int fd = open_component(cur, comp, create, mode);
		int saved = errno;
		close(cur);
		if (fd < 0) {
			errno = saved;
			return -1;
		}
		cur = fd;
		comp = next;
	}
	if (leaf) {
		/* rel had no components: there is no leaf */
		close(cur);
		errno = EINVAL;
		return -1;
	}
	return cur;
}

int safe_open_dir(int rootfd, const char *rel, int create, mode_t mode)
{
	return walk(rootfd, rel, create, mode, NULL, 0);
}

int safe_open_file(int rootfd, const char *rel, mode_t mode)
{
	char leaf[256];
	int parent = walk(rootfd, rel, 1, 0755, leaf, sizeof leaf);
	if (parent < 0)
		return -1;
	int fd = openat(parent, leaf, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_CREAT | O_NONBLOCK, mode);
	int saved = errno;
	if (fd >= 0) {
		struct stat st;
		if (fstat(fd, &st) < 0 || S_ISDIR(st.st_mode)) {
			close(fd);
			fd = -1;
			saved = EISDIR;
		}
	} else if (saved == ELOOP || saved == ENXIO) {
		struct stat st;
		if (fstatat(parent, leaf, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode))
			saved = ELOOP;
	}
	close(parent);
	errno = saved;
	return fd;
}
