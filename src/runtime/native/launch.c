/* `denia-init launch`: the launcher process (host namespaces, root).
 *
 * Process tree of one replica:
 *   node ──spawn──> launcher (this file; host pid/user ns, private mount ns)
 *                     └─clone(NEWUSER|NEWNS|NEWPID|NEWNET|NEWUTS|NEWIPC|NEWCGROUP)──> init (pid 1, init.c)
 *                       (without NEWNET when the spec names a netns: the launcher joined it)
 *                                                                                      └─fork+exec──> workload
 *
 * The launcher prepares the root while still privileged, writes the child's
 * uid/gid maps, then relays the init's status lines to fd 3, copies the
 * workload's stdout/stderr pipes to its own (stdio.c) and forwards
 * termination signals. It is the only writer of the status pipe. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common.h"

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

#define NS_FLAGS (CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWCGROUP)
#define DEFAULT_NOFILE_HARD 65536UL

/* Raising a hard limit needs host root (CAP_SYS_RESOURCE): done here,
 * before the user namespace. A host that withholds that capability from
 * us keeps its own hard limit (the limit cannot be raised from anywhere
 * we can reach). The init keeps soft = hard (it relays many connections);
 * the workload lowers its soft limit to the spec's before exec. */
static void set_nofile(const struct launch_spec *s)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		die_stage("rlimit", errno);
	rlim_t hard = s->nofile_hard;
	if (hard == 0)
		hard = rl.rlim_max > DEFAULT_NOFILE_HARD ? rl.rlim_max : DEFAULT_NOFILE_HARD;
	struct rlimit want = { hard, hard };
	if (setrlimit(RLIMIT_NOFILE, &want) == 0)
		return;
	if (errno != EPERM || hard < rl.rlim_max)
		die_stage("rlimit", errno);
	rl.rlim_cur = rl.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
		die_stage("rlimit", errno);
}

static void close_inherited_fds(int from)
{
	if (syscall(SYS_close_range, (unsigned)from, ~0U, 0) == 0)
		return;
	for (int fd = from; fd < 4096; fd++)
		close(fd);
}

static void write_id_maps(pid_t pid, const struct launch_spec *s)
{
	char path[64], map[96];
	snprintf(map, sizeof map, "0 %lu %lu\n", s->userns_base, s->userns_size);
	/* setgroups stays allowed: we write the maps as host root, and images
	 * that drop to a user (nginx workers, gosu, su) call initgroups(); every
	 * group they can pick is one of the replica's own mapped ids */
	snprintf(path, sizeof path, "/proc/%d/gid_map", (int)pid);
	if (write_file(path, map) < 0)
		goto fail;
	snprintf(path, sizeof path, "/proc/%d/uid_map", (int)pid);
	if (write_file(path, map) < 0)
		goto fail;
	return;
fail: {
	int err = errno;
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	die_stage("uid_map", err);
}
}

struct line_buf {
	char data[1024];
	size_t len;
	int terminal_seen;
};

/* Forward complete lines from the init to the status fd. */
static int pump_report(int fd, struct line_buf *lb)
{
	for (;;) {
		ssize_t n = read(fd, lb->data + lb->len, sizeof lb->data - lb->len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return errno == EAGAIN ? 0 : -1;
		}
		if (n == 0)
			return -1; /* EOF */
		lb->len += (size_t)n;
		char *nl;
		while ((nl = memchr(lb->data, '\n', lb->len)) != NULL) {
			size_t l = (size_t)(nl - lb->data) + 1;
			if (strncmp(lb->data, "exited", 6) == 0 || strncmp(lb->data, "failed", 6) == 0)
				lb->terminal_seen = 1;
			(void)write_all(g_status_fd, lb->data, l);
			memmove(lb->data, lb->data + l, lb->len - l);
			lb->len -= l;
		}
		if (lb->len == sizeof lb->data)
			lb->len = 0; /* overlong line: drop */
	}
}

int launch_main(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	signal(SIGPIPE, SIG_IGN);
	if (fcntl(3, F_GETFD) < 0) {
		static const char msg[] = "denia-init launch: fd 3 (status pipe) is not open\n";
		(void)write_all(2, msg, sizeof msg - 1);
		return 2;
	}
	g_status_fd = 3;
	if (fcntl(3, F_SETFD, FD_CLOEXEC) < 0)
		die_stage("close fds", errno);
	close_inherited_fds(4);

	char *json = read_fd_fully(0, 1 << 20, NULL);
	if (!json)
		die_stage("spec", errno);
	struct launch_spec spec;
	const char *why = NULL;
	if (spec_parse(json, &spec, &why) < 0)
		die_msg("spec", why);
	int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (devnull < 0 || dup2(devnull, 0) < 0)
		die_stage("spec", errno);
	close(devnull);

	if (setgroups(0, NULL) < 0)
		die_stage("setgroups", errno);
	if (spec.cgroup) {
		char path[4096];
		snprintf(path, sizeof path, "%s/cgroup.procs", spec.cgroup);
		if (write_file(path, "0") < 0)
			die_stage("cgroup", errno);
	}
	g_create_uid = (uid_t)spec.userns_base;
	g_create_gid = (gid_t)spec.userns_base;
	set_nofile(&spec);
	join_netns(&spec);
	if (unshare(CLONE_NEWNS) < 0)
		die_stage("unshare", errno);
	int rootfd = prepare_rootfs(&spec);

	int sync_pipe[2], report[2];
	if (pipe2(sync_pipe, O_CLOEXEC) < 0 || pipe2(report, O_CLOEXEC) < 0)
		die_stage("unshare", errno);
	struct stdio_pipes io;
	if (stdio_pipes_open(&io, (uid_t)(spec.userns_base + spec.uid), (gid_t)(spec.userns_base + spec.gid)) < 0)
		die_stage("stdio", errno);

	sigset_t mask;
	sigemptyset(&mask);
	int sigs[] = { SIGCHLD, SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2 };
	for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
		sigaddset(&mask, sigs[i]);
	if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
		die_stage("unshare", errno);

	unsigned long flags = NS_FLAGS | (spec.netns_path ? 0 : CLONE_NEWNET);
	pid_t pid = (pid_t)syscall(SYS_clone, flags | SIGCHLD, NULL, NULL, NULL, NULL);
	if (pid < 0)
		die_stage("unshare", errno);
	if (pid == 0) {
		close(sync_pipe[1]);
		close(report[0]);
		g_status_fd = report[1];
		stdio_pipes_close_read(&io);
		init_main(&spec, rootfd, sync_pipe[0], &io);
	}
	close(sync_pipe[0]);
	close(report[1]);
	stdio_pipes_close_write(&io);
	close(rootfd);
	write_id_maps(pid, &spec);
	if (write_all(sync_pipe[1], "g", 1) < 0)
		die_stage("uid_map", errno);
	close(sync_pipe[1]);

	int sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	if (sfd < 0) {
		kill(pid, SIGKILL);
		die_stage("signals", errno);
	}
	fcntl(report[0], F_SETFL, O_NONBLOCK);
	struct line_buf lb = { .len = 0, .terminal_seen = 0 };
	int report_open = 1, child_done = 0, wstatus = 0;
	while (!child_done) {
		struct pollfd pfds[4] = { { .fd = sfd, .events = POLLIN },
					  { .fd = report_open ? report[0] : -1, .events = POLLIN } };
		stdio_pipes_poll_fds(&io, pfds + 2);
		if (poll(pfds, 4, -1) < 0) {
			if (errno == EINTR)
				continue;
			kill(pid, SIGKILL);
		}
		stdio_pipes_pump(&io, pfds + 2);
		if (report_open && pfds[1].revents && pump_report(report[0], &lb) < 0)
			report_open = 0;
		if (pfds[0].revents & POLLIN) {
			struct signalfd_siginfo si;
			while (read(sfd, &si, sizeof si) == (ssize_t)sizeof si) {
				if (si.ssi_signo == SIGCHLD) {
					int st;
					if (waitpid(pid, &st, WNOHANG) == pid) {
						wstatus = st;
						child_done = 1;
					}
				} else if (!child_done) {
					kill(pid, (int)si.ssi_signo);
				}
			}
		}
	}
	/* the init is gone, and with it every process of its pid namespace:
	 * take what they left in the pipes */
	stdio_pipes_drain(&io);
	if (report_open)
		(void)pump_report(report[0], &lb);
	if (!lb.terminal_seen) {
		if (WIFSIGNALED(wstatus))
			status_line("exited signal %d", WTERMSIG(wstatus));
		else
			status_line("exited %d", WEXITSTATUS(wstatus));
	}
	if (WIFSIGNALED(wstatus))
		return 128 + WTERMSIG(wstatus);
	return WEXITSTATUS(wstatus);
}
