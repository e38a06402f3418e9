/* Seccomp denylist applied to the workload: the default action is allow,
 * and syscalls that reach into kernel-global state (modules, kexec, reboot,
 * clocks, swap, keyrings, bpf, perf, mounts, namespace creation, tracing of
 * other processes, file handles) fail with EPERM. The list follows the
 * spirit of the widely used container default profile. The workload's
 * capabilities (caps.c) exist only in its own user namespace, so most of
 * these would fail anyway: this is the second wall, and the first one for
 * calls that need no capability (unshare(CLONE_NEWUSER), userfaultfd,
 * perf_event_open, keyctl, ...). chroot and ptrace are let through only when
 * the capability meant for them is kept, as engines' default profiles do. */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <seccomp.h>
#include <stddef.h>
#include <string.h>

#include "common.h"

static const char *const denied[] = {
	"acct", "add_key", "bpf", "clock_adjtime", "clock_settime", "clock_settime64",
	"create_module", "delete_module", "finit_module", "init_module", "get_kernel_syms",
	"query_module", "kexec_load", "kexec_file_load", "reboot", "keyctl", "request_key",
	"lookup_dcookie", "perf_event_open", "fanotify_init", "open_by_handle_at",
	"name_to_handle_at", "swapon", "swapoff", "settimeofday", "stime", "adjtimex",
	"mount", "umount", "umount2", "pivot_root", "chroot", "move_mount", "open_tree",
	"fsopen", "fsconfig", "fsmount", "fspick", "mount_setattr", "setns", "ptrace",
	"process_vm_readv", "process_vm_writev", "kcmp", "userfaultfd", "nfsservctl",
	"uselib", "ustat", "sysfs", "_sysctl", "vm86", "vm86old", "iopl", "ioperm",
	"syslog", "vhangup", "quotactl", "quotactl_fd", "io_uring_setup", "io_uring_enter",
	"io_uring_register", "set_mempolicy", "mbind", "move_pages",
};

/* Allowed again when the workload keeps the capability they are for (inside
 * its user namespace: chroot into its own tree, tracing its own processes). */
static const struct {
	const char *name;
	int cap;
} cap_gated[] = {
	{ "chroot", 18 /* CAP_SYS_CHROOT */ },
	{ "ptrace", 19 /* CAP_SYS_PTRACE */ },
	{ "process_vm_readv", 19 },
	{ "process_vm_writev", 19 },
	{ "kcmp", 19 },
};

static int gated_open(const char *name, uint64_t caps)
{
	for (size_t i = 0; i < sizeof cap_gated / sizeof cap_gated[0]; i++)
		if (strcmp(cap_gated[i].name, name) == 0)
			return (caps >> cap_gated[i].cap) & 1;
	return 0;
}

static const unsigned long ns_flags[] = {
	CLONE_NEWNS, CLONE_NEWUTS, CLONE_NEWIPC, CLONE_NEWUSER, CLONE_NEWPID, CLONE_NEWNET, CLONE_NEWCGROUP,
#ifdef CLONE_NEWTIME
	CLONE_NEWTIME,
#endif
};

/* Returns 0 or a negative errno. */
int install_seccomp_denylist(uint64_t caps)
{
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
	if (!ctx)
		return -ENOMEM;
	int rc = 0;
#if defined(__x86_64__)
	/* cover the compat ABIs too, or int 0x80 would bypass the list */
	seccomp_arch_add(ctx, SCMP_ARCH_X86);
	seccomp_arch_add(ctx, SCMP_ARCH_X32);
#elif defined(__aarch64__)
	seccomp_arch_add(ctx, SCMP_ARCH_ARM);
#endif
	for (size_t i = 0; i < sizeof denied / sizeof denied[0]; i++) {
		if (gated_open(denied[i], caps))
			continue;
		int nr = seccomp_syscall_resolve_name(denied[i]);
		if (nr == __NR_SCMP_ERROR)
			continue; /* not a syscall on any ABI libseccomp knows here */
		rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), nr, 0);
		if (rc < 0 && rc != -EDOM)
			goto out;
	}
	/* namespace creation through clone/unshare: deny when any CLONE_NEW* bit is set */
	for (size_t i = 0; i < sizeof ns_flags / sizeof ns_flags[0]; i++) {
		rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(unshare), 1,
				      SCMP_A0(SCMP_CMP_MASKED_EQ, ns_flags[i], ns_flags[i]));
		if (rc < 0)
			goto out;
		rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(clone), 1,
				      SCMP_A0(SCMP_CMP_MASKED_EQ, ns_flags[i], ns_flags[i]));
		if (rc < 0)
			goto out;
	}
	/* clone3 passes its flags in memory, which a filter cannot inspect:
	 * ENOSYS makes libcs fall back to clone, which is filtered above */
	rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0);
	if (rc < 0)
		goto out;
	rc = seccomp_load(ctx);
out:
	seccomp_release(ctx);
	return rc < 0 ? rc : 0;
}
