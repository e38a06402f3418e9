/* Network namespace setup. A replica either gets a fresh namespace of its
 * own (owned by its user namespace: the init configures it) or joins one
 * the node network created (owned by the host: the launcher configures it
 * while still host root, since the replica's root has no say over it). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common.h"

#define PORT_SYSCTL "sys/net/ipv4/ip_unprivileged_port_start"
#define PING_SYSCTL "sys/net/ipv4/ping_group_range"

static int loopback_up(void)
{
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return -1;
	struct ifreq ifr;
	memset(&ifr, 0, sizeof ifr);
	strcpy(ifr.ifr_name, "lo");
	int r = ioctl(s, SIOCGIFFLAGS, &ifr);
	if (r == 0 && (ifr.ifr_flags & IFF_UP) == 0) {
		ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
		r = ioctl(s, SIOCSIFFLAGS, &ifr);
	}
	int saved = errno;
	close(s);
	errno = saved;
	return r;
}

/* Any uid may bind any port inside the replica's network namespace, and
 * the replica's groups may open ICMP echo sockets (ping without NET_RAW,
 * which a namespace the host owns does not honour). The gid range is read
 * in the writer's user namespace. */
static void allow_low_ports(const char *proc_root, unsigned long first_gid, unsigned long last_gid)
{
	char path[128], range[64];
	snprintf(path, sizeof path, "%s/" PORT_SYSCTL, proc_root);
	if (write_file(path, "0") < 0)
		die_stage("network", errno);
	snprintf(path, sizeof path, "%s/" PING_SYSCTL, proc_root);
	snprintf(range, sizeof range, "%lu %lu", first_gid, last_gid);
	if (write_file(path, range) < 0)
		die_stage("network", errno);
}

void join_netns(const struct launch_spec *s)
{
	if (!s->netns_path)
		return;
	int fd = open(s->netns_path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		char msg[320];
		snprintf(msg, sizeof msg, "netns %s: %s", s->netns_path, strerror(errno));
		die_msg("network", msg);
	}
	/* defence in depth: a replica never shares the host's own network */
	struct stat target, own;
	if (fstat(fd, &target) < 0 || stat("/proc/self/ns/net", &own) < 0)
		die_stage("network", errno);
	if (target.st_dev == own.st_dev && target.st_ino == own.st_ino) {
		char msg[320];
		snprintf(msg, sizeof msg, "netns %s is the host's network namespace: refused", s->netns_path);
		die_msg("network", msg);
	}
	if (setns(fd, CLONE_NEWNET) < 0) {
		char msg[320];
		snprintf(msg, sizeof msg, "setns %s: %s", s->netns_path, strerror(errno));
		die_msg("network", msg);
	}
	close(fd);
	/* net sysctls under /proc/sys address the caller's network namespace */
	allow_low_ports("/proc", s->userns_base, s->userns_base + s->userns_size - 1);
	/* the node network brings lo up; a failure here is not ours to report */
	(void)loopback_up();
}

void setup_own_netns(const struct launch_spec *s, const char *proc_root)
{
	if (loopback_up() < 0)
		die_stage("network", errno);
	allow_low_ports(proc_root, 0, s->userns_size - 1);
}
