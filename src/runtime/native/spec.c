/* Launch spec decoding. The spec is a flat JSON object whose values are
 * strings, non-negative integers or arrays of strings (json.c reads them). */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common.h"
#include "json.h"

int spec_parse(char *json, struct launch_spec *s, const char **why)
{
	struct parser ps = { .p = json, .why = NULL };
	memset(s, 0, sizeof *s);
	s->workdir = "/";
	s->hostname = "denia";
	s->stop_signal = 15;
	s->shm_bytes = 64UL << 20;
	s->nofile_soft = 1024;
	int have_argv = 0;

	json_skip_ws(&ps);
	if (*ps.p != '{') {
		*why = "spec must be a JSON object";
		return -1;
	}
	ps.p++;
	json_skip_ws(&ps);
	if (*ps.p == '}') {
		ps.p++;
		goto done;
	}
	for (;;) {
		unsigned long v;
		json_skip_ws(&ps);
		char *key = json_string(&ps);
		if (!key)
			goto bad;
		json_skip_ws(&ps);
		if (*ps.p != ':') {
			ps.why = "expected :";
			goto bad;
		}
		ps.p++;
		json_skip_ws(&ps);
#define STR_FIELD(name, dst) \
	if (strcmp(key, name) == 0) { \
		if (!(dst = json_string(&ps))) \
			goto bad; \
	} else
		STR_FIELD("rootfs", s->rootfs)
		STR_FIELD("upper", s->upper)
		STR_FIELD("work", s->work)
		STR_FIELD("merged", s->merged)
		STR_FIELD("sockDir", s->sock_dir)
		STR_FIELD("cgroup", s->cgroup)
		STR_FIELD("hostname", s->hostname)
		STR_FIELD("workdir", s->workdir)
		STR_FIELD("etcHosts", s->etc_hosts)
		STR_FIELD("etcHostname", s->etc_hostname)
		STR_FIELD("etcResolvConf", s->etc_resolv)
		STR_FIELD("netnsPath", s->netns_path)
		if (strcmp(key, "argv") == 0) {
			if (json_str_array(&ps, s->argv, DENIA_MAX_ARGS) < 0)
				goto bad;
			have_argv = 1;
		} else if (strcmp(key, "env") == 0) {
			if (json_str_array(&ps, s->envp, DENIA_MAX_ARGS) < 0)
				goto bad;
		} else if (strcmp(key, "uid") == 0) {
			if (json_uint_max(&ps, 65534, &v) < 0)
				goto bad;
			s->uid = (uid_t)v;
		} else if (strcmp(key, "gid") == 0) {
			if (json_uint_max(&ps, 65534, &v) < 0)
				goto bad;
			s->gid = (gid_t)v;
		} else if (strcmp(key, "usernsBase") == 0) {
			if (json_uint_max(&ps, UINT_MAX, &v) < 0)
				goto bad;
			s->userns_base = v;
		} else if (strcmp(key, "usernsSize") == 0) {
			if (json_uint_max(&ps, UINT_MAX, &v) < 0)
				goto bad;
			s->userns_size = v;
		} else if (strcmp(key, "mounts") == 0) {
			if (json_str_array(&ps, s->mounts, DENIA_MAX_MOUNTS * 3) < 0)
				goto bad;
		} else if (strcmp(key, "capMask") == 0) {
			if (json_uint_max(&ps, ULONG_MAX, &v) < 0)
				goto bad;
			s->cap_mask = (uint64_t)v;
		} else if (strcmp(key, "stopSignal") == 0) {
			if (json_uint_max(&ps, 64, &v) < 0)
				goto bad;
			s->stop_signal = (int)v;
		} else if (strcmp(key, "shmBytes") == 0) {
			if (json_uint_max(&ps, ULONG_MAX, &v) < 0)
				goto bad;
			s->shm_bytes = v;
		} else if (strcmp(key, "nofileSoft") == 0) {
			if (json_uint_max(&ps, 1UL << 30, &v) < 0)
				goto bad;
			s->nofile_soft = v;
		} else if (strcmp(key, "nofileHard") == 0) {
			if (json_uint_max(&ps, 1UL << 30, &v) < 0)
				goto bad;
			s->nofile_hard = v;
		} else if (strcmp(key, "rootfsIdmap") == 0) {
			if (json_uint_max(&ps, 1, &v) < 0)
				goto bad;
			s->rootfs_idmap = (int)v;
		} else if (strcmp(key, "port") == 0) {
			if (json_uint_max(&ps, 65535, &v) < 0)
				goto bad;
			s->port = (int)v;
		} else {
			ps.why = "unknown key";
			*why = ps.why;
			return -1;
		}
#undef STR_FIELD
		json_skip_ws(&ps);
		if (*ps.p == ',') {
			ps.p++;
			continue;
		}
		if (*ps.p == '}') {
			ps.p++;
			break;
		}
		ps.why = "expected , or } in object";
		goto bad;
	}
done:
	json_skip_ws(&ps);
	if (*ps.p != '\0') {
		*why = "trailing data after spec";
		return -1;
	}
	if (!s->rootfs || !s->upper || !s->work || !s->merged || !s->sock_dir) {
		*why = "rootfs, upper, work, merged and sockDir are required";
		return -1;
	}
	if (!have_argv || !s->argv[0]) {
		*why = "argv must have at least one element";
		return -1;
	}
	if (s->workdir[0] != '/') {
		*why = "workdir must be absolute";
		return -1;
	}
	if (s->userns_size == 0 || s->userns_base == 0 || s->uid >= s->userns_size || s->gid >= s->userns_size) {
		*why = "usernsBase/usernsSize must be set and cover uid/gid";
		return -1;
	}
	if (s->cgroup && s->cgroup[0] == '\0')
		s->cgroup = NULL;
	if (s->netns_path && s->netns_path[0] == '\0')
		s->netns_path = NULL;
	if (s->stop_signal < 1 || s->shm_bytes == 0 || s->nofile_soft == 0 ||
	    (s->nofile_hard != 0 && s->nofile_soft > s->nofile_hard)) {
		*why = "stopSignal, shmBytes and nofileSoft must be positive, nofileSoft <= nofileHard";
		return -1;
	}
	size_t nm = 0;
	while (s->mounts[nm])
		nm++;
	if (nm % 3 != 0) {
		*why = "mounts must be (mode, source, target) triples";
		return -1;
	}
	for (size_t i = 0; i < nm; i += 3)
		if (strcmp(s->mounts[i], "ro") != 0 && strcmp(s->mounts[i], "rw") != 0) {
			*why = "mount mode must be ro or rw";
			return -1;
		}
	return 0;
bad:
	*why = ps.why ? ps.why : "malformed spec";
	return -1;
}

char *read_fd_fully(int fd, size_t max, size_t *len_out)
{
	size_t cap = 4096, len = 0;
	char *buf = malloc(cap + 1);
	if (!buf)
		return NULL;
	for (;;) {
		if (len == cap) {
			if (cap >= max) {
				free(buf);
				errno = E2BIG;
				return NULL;
			}
			cap *= 2;
			char *nb = realloc(buf, cap + 1);
			if (!nb) {
				free(buf);
				return NULL;
			}
			buf = nb;
		}
		ssize_t n = read(fd, buf + len, cap - len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			free(buf);
			return NULL;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	buf[len] = '\0';
	if (len_out)
		*len_out = len;
	return buf;
}
