/* Shared declarations for the denia-init helper. */
#ifndef DENIA_COMMON_H
#define DENIA_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define DENIA_MAX_ARGS 256
/* "mounts" is a flat list of (mode, source, target) triples */
#define DENIA_MAX_MOUNTS 32

/* Launch specification, decoded from the JSON document on stdin. */
struct launch_spec {
	const char *rootfs;   /* shared read-only bundle (overlay lower) */
	int rootfs_idmap;     /* rootfs keeps the image's owners: mount it idmapped (ADR 0822) */
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
	uint64_t cap_mask;         /* capabilities kept (bit n = capability n) */
	int stop_signal;           /* sent to the workload instead of SIGTERM */
	unsigned long shm_bytes;   /* size of /dev/shm */
	unsigned long nofile_soft; /* RLIMIT_NOFILE of the workload */
	unsigned long nofile_hard; /* 0 = max(65536, the launcher's own hard limit) */
	const char *etc_hosts;     /* host files bound read-only at /etc/..., or NULL */
	const char *etc_hostname;
	const char *etc_resolv;
	const char *netns_path;    /* network namespace to join, or NULL = a new one */
	char *mounts[DENIA_MAX_MOUNTS * 3 + 1];
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
/* Owner given to directories the walk creates (the namespace's root, so the
 * image's root can use e.g. a /run or /etc the bundle lacked); -1 = leave. */
extern uid_t g_create_uid;
extern gid_t g_create_gid;
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

/* ---- mounts.c / etcfiles.c (privileged, after prepare_rootfs) ---- */
/* Bind the spec's host directories into the root; dies with stage "mounts". */
void bind_mounts(const struct launch_spec *spec, int rootfd);
/* Bind the generated /etc files read-only; dies with stage "etc files". */
void bind_etc_files(const struct launch_spec *spec, int rootfd);
/* Shared by both: bind `source_fd` onto the target that `open_target(ctx)`
 * opens (called twice: the remount must address the new mount, not the
 * node under it), then remount it with `flags` (MS_RDONLY, MS_NOSUID, ...).
 * Returns 0 or -1 with errno set. */
int bind_restricted(int source_fd, int (*open_target)(const void *ctx), const void *ctx, unsigned long flags);

/* ---- netns.c ---- */
/* Launcher, still host root: join spec->netns_path (when set), let any uid
 * bind low ports there and try to bring lo up. Dies with stage "network". */
void join_netns(const struct launch_spec *spec);
/* Init inside its own (new) network namespace: lo up + the port and ping
 * sysctls; `proc_root` is where the fresh procfs is mounted ("proc" before pivot). */
void setup_own_netns(const struct launch_spec *spec, const char *proc_root);

/* ---- caps.c ---- */
/* In the workload child before exec: keep `mask` in the bounding set and,
 * for uid 0, in permitted/effective/inheritable; a non-root uid ends with
 * nothing in effect. Switches to uid/gid. Returns 0 or an errno; *stage is
 * set to "capabilities" or "setuid". */
int apply_credentials(uint64_t mask, uid_t uid, gid_t gid, const char **stage);

/* ---- stdio.c ---- */
struct pollfd;
struct stdio_pipes {
	int out[2];
	int err[2];
};
/* Launcher (host root): create the workload's stdout/stderr pipes, owned by
 * the host ids `uid`/`gid` (the workload's, shifted). Returns 0 or -1/errno. */
int stdio_pipes_open(struct stdio_pipes *p, uid_t uid, gid_t gid);
/* Workload child: dup the write ends onto 1 and 2. Returns 0 or an errno. */
int stdio_pipes_attach(const struct stdio_pipes *p);
void stdio_pipes_close_write(struct stdio_pipes *p);
void stdio_pipes_close_read(struct stdio_pipes *p);
/* Launcher loop: fill two pollfds, then copy what they report. */
void stdio_pipes_poll_fds(const struct stdio_pipes *p, struct pollfd *pfds);
void stdio_pipes_pump(struct stdio_pipes *p, const struct pollfd *pfds);
/* Launcher, once the init is gone: copy everything left, to EOF. */
void stdio_pipes_drain(struct stdio_pipes *p);

/* ---- init.c (pid 1 inside the namespaces) ---- */
int init_main(const struct launch_spec *spec, int rootfd, int sync_fd, struct stdio_pipes *io) __attribute__((noreturn));

/* ---- seccomp.c ---- */
/* `caps` relaxes the list for calls a kept capability is meant for
 * (chroot with SYS_CHROOT, ptrace with SYS_PTRACE). */
int install_seccomp_denylist(uint64_t caps);

/* ---- relay.c ---- */
struct relay;
struct relay *relay_new(int epfd, int listen_fd, int port);
/* Handle an epoll event whose data.ptr belongs to the relay. */
void relay_event(struct relay *r, void *tag, unsigned int events);
/* Free connections closed during the last batch of events. */
void relay_reap(struct relay *r);

/* ---- fdio.c (the pipe modes) ---- */
/* A descriptor number >= 3 (and <= 1024) from argv; -1 when it is not one (errno left 0). */
int parse_fd_arg(const char *text);
/* A decimal count <= max from argv into *out; -1 when it is not one. */
int parse_count_arg(const char *text, uint64_t max, uint64_t *out);
/* An idle timeout in milliseconds (at most a day) from argv into *out, 0 meaning none (-1 for poll); -1 when it is not one. */
int parse_idle_ms_arg(const char *text, int *out);
/* Waits until fd is ready for `events` (POLLIN or POLLOUT); timeout_ms -1 waits for ever. 0 when ready
 * (for POLLIN also at a hang-up, which the next read reports), -1 with errno ETIMEDOUT, EPIPE or another. */
int fd_wait(int fd, short events, int timeout_ms);
/* Writes all n bytes to fd, waiting (up to timeout_ms each time) when a non-blocking fd is full. */
int fd_write_all(int fd, const unsigned char *buf, size_t n, int timeout_ms);

/* ---- copysink.c (recv-pipe's stored copy) ---- */
/* Takes fd (a fresh regular file) as the copy; 1 when it is written with O_DIRECT, 0 when buffered. */
int copysink_open(int fd);
/* Appends n bytes; 0 or -1 (errno set). */
int copysink_put(const unsigned char *buf, size_t n);
/* Moves n bytes out of the pipe pipe_fd into the copy. */
int copysink_put_from_pipe(int pipe_fd, size_t n);
/* Writes what is still buffered; the copy is whole once it returns 0. */
int copysink_finish(void);

/* ---- modes ---- */
int launch_main(int argc, char **argv);
int exec_main(int argc, char **argv);
int tarpipe_main(int argc, char **argv);
int sendpipe_main(int argc, char **argv);
int recvpipe_main(int argc, char **argv);
int probe_idmap_main(int argc, char **argv);
int overlay_marks_main(int argc, char **argv);

/* ---- idmap.c (ADR 0822) ---- */
/* A user namespace with the map `0 base size` (uid and gid), as an fd. */
int idmap_userns_fd(unsigned long base, unsigned long size);
/* An idmapped clone of `source` through `userns_fd`, attached at `target`. */
int idmap_clone_at(const char *source, int userns_fd, const char *target);

#endif
