/* Shared declarations for the denia-init helper. */
#ifndef DENIA_COMMON_H
#define DENIA_COMMON_H

#include <stddef.h>
#include <sys/types.h>

#define DENIA_MAX_ARGS 256

/* Launch specification, decoded from the JSON document on stdin. */
struct launch_spec {
	const char *rootfs;   /* shared read-only bundle (overlay lower) */
	const char *upper;    /* per-replica overlay upper dir */
	const char *work;     /* per-replica overlay work dir */
	const char *merged;   /* per-replica overlay mount point */
	const char *sock_dir; /* host dir bound at /run/denia */
	const char *cgroup;   /* cgroup v2 dir to join, or NULL */
	const char *hostname;
	const char *workdir;  /* absolute path inside the sandbox */
	char *argv[DENIA_MAX_ARGS + 1];
	char *envp[DENIA_MAX_ARGS + 1];
	uid_t uid;
	gid_t gid;
	unsigned long userns_base;
	unsigned long userns_size;
	int port; /* 0 = no socket relay */
};

/* ---- status channel (status.c) ---- */
/* The fd that status lines go to in the current process. */
extern int g_status_fd;
void status_line(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Report "failed <stage>: <strerror(err)>" and _exit(1). */
void die_stage(const char *stage, int err) __attribute__((noreturn));
/* Same, with a free-form message instead of an errno text. */
void die_msg(const char *stage, const char *msg) __attribute__((noreturn));
ssize_t write_all(int fd, const void *buf, size_t len);
int write_file(const char *path, const char *data);

/* ---- spec.c ---- */
int spec_parse(char *json, struct launch_spec *out, const char **why);
char *read_fd_fully(int fd, size_t max, size_t *len_out);

/* ---- safepath.c ---- */
/* Open (creating when asked) the directory `rel` beneath `rootfd`, refusing
 * any component that is a symlink, "." or "..". Returns an O_DIRECTORY fd or
 * -1 with errno set (ELOOP for a symlink). */
int safe_open_dir(int rootfd, const char *rel, int create, mode_t mode);
/* Open (creating when missing) a regular file `rel` beneath `rootfd` for use
 * as a bind-mount target. Same refusal rules. */
int safe_open_file(int rootfd, const char *rel, mode_t mode);
/* Format "/proc/self/fd/<fd>" into buf. */
const char *fd_path(char *buf, size_t len, int fd);

/* ---- sandbox.c (privileged part, run by the launcher) ---- */
int prepare_rootfs(const struct launch_spec *spec);

/* ---- init.c (pid 1 inside the namespaces) ---- */
int init_main(const struct launch_spec *spec, int rootfd, int sync_fd) __attribute__((noreturn));

/* ---- seccomp.c ---- */
int install_seccomp_denylist(void);

/* ---- relay.c ---- */
struct relay;
struct relay *relay_new(int epfd, int listen_fd, int port);
/* Handle an epoll event whose data.ptr belongs to the relay. */
void relay_event(struct relay *r, void *tag, unsigned int events);
/* Free connections closed during the last batch of events. */
void relay_reap(struct relay *r);

/* ---- modes ---- */
int launch_main(int argc, char **argv);
int exec_main(int argc, char **argv);

#endif
