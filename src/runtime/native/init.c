/* PID 1 inside the replica's namespaces: finish the root (procfs, masks,
 * pivot_root), set up hostname, loopback and the service socket, start the
 * workload with every privilege dropped, then relay connections, reap
 * zombies and forward termination signals until the workload exits. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common.h"

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

#define SOCKET_PATH "/run/denia/service.sock"

extern char **environ;

/* Paths hidden from the workload (files get /dev/null, dirs an empty
 * read-only tmpfs) and paths made read-only; modelled on the defaults of
 * common container runtimes. Missing paths are skipped. */
static const char *const masked_paths[] = {
	"/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
	"/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi",
	"/sys/firmware", "/sys/devices/virtual/powercap",
};
static const char *const readonly_paths[] = {
	"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger",
};

/* Failure stages reported by the workload child before exec. */
enum child_stage { ST_WORKDIR, ST_CAPS, ST_SETUID, ST_NNP, ST_FDS, ST_SECCOMP, ST_EXEC, ST_STDIO, ST_RLIMIT };
static const char *const child_stage_names[] = { "workdir", "capabilities", "setuid", "no_new_privs",
						 "close fds", "seccomp", "exec", "stdio", "rlimit" };

struct child_err {
	int stage;
	int err;
};

static void child_fail(int fd, int stage, int err) __attribute__((noreturn));
static void child_fail(int fd, int stage, int err)
{
	struct child_err ce = { stage, err };
	(void)write_all(fd, &ce, sizeof ce);
	_exit(127);
}

static void mask_paths(void)
{
	for (size_t i = 0; i < sizeof masked_paths / sizeof masked_paths[0]; i++) {
		const char *p = masked_paths[i];
		struct stat st;
		if (lstat(p, &st) < 0)
			continue;
		int r;
		if (S_ISDIR(st.st_mode))
			r = mount("tmpfs", p, "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, "size=0");
		else
			r = mount("/dev/null", p, NULL, MS_BIND, NULL);
		if (r < 0 && errno != ENOENT)
			die_stage("mask paths", errno);
	}
	for (size_t i = 0; i < sizeof readonly_paths / sizeof readonly_paths[0]; i++) {
		const char *p = readonly_paths[i];
		if (access(p, F_OK) < 0)
			continue;
		if (mount(p, p, NULL, MS_BIND | MS_REC, NULL) < 0 ||
		    mount(NULL, p, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
			die_stage("mask paths", errno);
	}
}

static void enter_root(const char *merged)
{
	/* by path: the launcher's fd points at its own namespace's copy of the
	 * overlay mount, and mounts must target this namespace's copy */
	if (chdir(merged) < 0)
		die_stage("pivot_root", errno);
	/* mounts inherited from the launcher are locked in this user namespace
	 * and pivot_root refuses a locked new root: stack an own recursive bind
	 * of the root on top and continue inside it */
	if (mount(".", ".", NULL, MS_BIND | MS_REC, NULL) < 0)
		die_stage("pivot_root", errno);
	if (chdir(merged) < 0)
		die_stage("pivot_root", errno);
}

static void finish_root(const struct launch_spec *s, int *have_sys)
{
	if (mount("proc", "proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
		die_stage("mount proc", errno);
	/* a joined namespace was set up by the launcher; ours needs lo and the
	 * port sysctl now, before /proc/sys turns read-only */
	if (!s->netns_path)
		setup_own_netns(s, "proc");
	/* sysfs needs a sysfs fully visible in this mount namespace; hosts that
	 * hide parts of theirs get an empty /sys rather than a failed launch */
	*have_sys = mount("sysfs", "sys", "sysfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) == 0;
	if (mount("devpts", "dev/pts", "devpts", MS_NOSUID | MS_NOEXEC, "newinstance,ptmxmode=0666,mode=0620,gid=5") < 0 &&
	    mount("devpts", "dev/pts", "devpts", MS_NOSUID | MS_NOEXEC, "newinstance,ptmxmode=0666,mode=0620") < 0)
		die_stage("mount dev", errno);
	char shm_opts[64];
	snprintf(shm_opts, sizeof shm_opts, "mode=1777,size=%lu", s->shm_bytes);
	if (mount("shm", "dev/shm", "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, shm_opts) < 0)
		die_stage("mount dev", errno);
	if (syscall(SYS_pivot_root, ".", ".") < 0)
		die_stage("pivot_root", errno);
	if (umount2(".", MNT_DETACH) < 0)
		die_stage("pivot_root", errno);
	if (chdir("/") < 0)
		die_stage("pivot_root", errno);
	mask_paths();
}

static int listen_service_socket(void)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		die_stage("socket", errno);
	struct sockaddr_un addr;
	memset(&addr, 0, sizeof addr);
	addr.sun_family = AF_UNIX;
	strcpy(addr.sun_path, SOCKET_PATH);
	struct stat st;
	if (lstat(SOCKET_PATH, &st) == 0 && unlink(SOCKET_PATH) < 0)
		die_stage("socket", errno);
	if (bind(fd, (struct sockaddr *)&addr, sizeof addr) < 0)
		die_stage("socket", errno);
	if (chmod(SOCKET_PATH, 0660) < 0)
		die_stage("socket", errno);
	if (listen(fd, 1024) < 0)
		die_stage("socket", errno);
	return fd;
}

static void run_workload(const struct launch_spec *s, struct stdio_pipes *io, int errfd) __attribute__((noreturn));
static void run_workload(const struct launch_spec *s, struct stdio_pipes *io, int errfd)
{
	sigset_t none;
	sigemptyset(&none);
	for (int sig = 1; sig < NSIG; sig++)
		signal(sig, SIG_DFL);
	sigprocmask(SIG_SETMASK, &none, NULL);
	setsid();

	int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (devnull < 0 || dup2(devnull, 0) < 0)
		child_fail(errfd, ST_STDIO, errno);
	close(devnull);
	int e = stdio_pipes_attach(io);
	if (e != 0)
		child_fail(errfd, ST_STDIO, e);
	if (chdir(s->workdir) < 0)
		child_fail(errfd, ST_WORKDIR, errno);
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		child_fail(errfd, ST_RLIMIT, errno);
	rl.rlim_cur = s->nofile_soft < rl.rlim_max ? s->nofile_soft : rl.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
		child_fail(errfd, ST_RLIMIT, errno);
	const char *stage = NULL;
	e = apply_credentials(s->cap_mask, s->uid, s->gid, &stage);
	if (e != 0)
		child_fail(errfd, strcmp(stage, "setuid") == 0 ? ST_SETUID : ST_CAPS, e);
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		child_fail(errfd, ST_NNP, errno);
	/* everything but stdio and errfd is already O_CLOEXEC or closed here */
	if (syscall(SYS_close_range, 3U, ~0U, CLOSE_RANGE_CLOEXEC) < 0)
		child_fail(errfd, ST_FDS, errno);
	int r = install_seccomp_denylist(s->cap_mask);
	if (r != 0)
		child_fail(errfd, ST_SECCOMP, -r);
	environ = (char **)s->envp;
	execvp(s->argv[0], (char *const *)s->argv);
	child_fail(errfd, ST_EXEC, errno);
}

static int exit_code_of(int st)
{
	return WIFSIGNALED(st) ? 128 + WTERMSIG(st) : WEXITSTATUS(st);
}

static void report_exit(int st) __attribute__((noreturn));
static void report_exit(int st)
{
	if (WIFSIGNALED(st))
		status_line("exited signal %d", WTERMSIG(st));
	else
		status_line("exited %d", WEXITSTATUS(st));
	_exit(exit_code_of(st));
}

int init_main(const struct launch_spec *s, int rootfd, int sync_fd, struct stdio_pipes *io)
{
	char go;
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	/* wait for the launcher to write our uid/gid maps */
	if (read(sync_fd, &go, 1) != 1)
		_exit(1);
	close(sync_fd);
	/* enter the root while still the host's uid 0 (owner of the replica
	 * dirs, which may be 0700), then become the namespace's root */
	enter_root(s->merged);
	if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0 || setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0)
		die_stage("setuid", errno);

	int have_sys = 0;
	finish_root(s, &have_sys);
	close(rootfd);
	(void)have_sys;
	if (sethostname(s->hostname, strlen(s->hostname)) < 0)
		die_stage("hostname", errno);
	int lfd = s->port > 0 ? listen_service_socket() : -1;

	sigset_t mask;
	sigemptyset(&mask);
	int sigs[] = { SIGCHLD, SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2 };
	for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
		sigaddset(&mask, sigs[i]);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	int sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	if (sfd < 0)
		die_stage("signals", errno);

	int errpipe[2];
	if (pipe2(errpipe, O_CLOEXEC) < 0)
		die_stage("exec", errno);
	pid_t child = fork();
	if (child < 0)
		die_stage("fork", errno);
	if (child == 0) {
		close(errpipe[0]);
		run_workload(s, io, errpipe[1]);
	}
	close(errpipe[1]);
	stdio_pipes_close_write(io);
	struct child_err ce;
	ssize_t n;
	do
		n = read(errpipe[0], &ce, sizeof ce);
	while (n < 0 && errno == EINTR);
	close(errpipe[0]);
	if (n == (ssize_t)sizeof ce) {
		int st;
		waitpid(child, &st, 0);
		const char *stage = ce.stage >= 0 && (size_t)ce.stage < sizeof child_stage_names / sizeof child_stage_names[0]
					    ? child_stage_names[ce.stage]
					    : "exec";
		die_stage(stage, ce.err);
	}
	status_line("ready");

	int epfd = epoll_create1(EPOLL_CLOEXEC);
	if (epfd < 0)
		die_stage("relay", errno);
	static int sfd_tag;
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = &sfd_tag };
	if (epoll_ctl(epfd, EPOLL_CTL_ADD, sfd, &ev) < 0)
		die_stage("relay", errno);
	struct relay *relay = NULL;
	if (lfd >= 0) {
		relay = relay_new(epfd, lfd, s->port);
		if (!relay)
			die_stage("relay", errno);
	}

	struct epoll_event events[64];
	for (;;) {
		int k = epoll_wait(epfd, events, 64, -1);
		if (k < 0) {
			if (errno == EINTR)
				continue;
			die_stage("relay", errno);
		}
		for (int i = 0; i < k; i++) {
			if (events[i].data.ptr != &sfd_tag) {
				relay_event(relay, events[i].data.ptr, events[i].events);
				continue;
			}
			struct signalfd_siginfo si;
			while (read(sfd, &si, sizeof si) == (ssize_t)sizeof si) {
				if (si.ssi_signo != SIGCHLD) {
					/* SIGTERM means stop: the image's stop signal */
					kill(child, si.ssi_signo == SIGTERM ? s->stop_signal : (int)si.ssi_signo);
					continue;
				}
				int st;
				pid_t p;
				while ((p = waitpid(-1, &st, WNOHANG)) > 0)
					if (p == child)
						report_exit(st);
			}
		}
		relay_reap(relay);
	}
}
