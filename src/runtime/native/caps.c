/* The workload's credentials. Everything here happens inside the replica's
 * user namespace, so every capability is one over objects that namespace
 * owns (its mounts, its network namespace, files whose owner is mapped in
 * it), never over the host. See docs/adr/0104-capability-model.md.
 *
 *   bounding     = mask (nothing outside it can ever come back)
 *   uid 0        : permitted = effective = inheritable = mask
 *   uid != 0     : permitted = effective = inheritable = 0
 *   ambient      = 0 always
 * no_new_privs (set afterwards by the caller) keeps exec from granting more
 * than the permitted set: the kernel caps root's post-exec set to it, and
 * setuid bits and file capabilities grant nothing. */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/capability.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common.h"

static int set_sets(uint64_t permitted, uint64_t inheritable)
{
	struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct data[2];
	memset(data, 0, sizeof data);
	data[0].permitted = data[0].effective = (uint32_t)permitted;
	data[1].permitted = data[1].effective = (uint32_t)(permitted >> 32);
	data[0].inheritable = (uint32_t)inheritable;
	data[1].inheritable = (uint32_t)(inheritable >> 32);
	return (int)syscall(SYS_capset, &hdr, data);
}

/* Capabilities this kernel knows and we hold (a mask may name newer ones). */
static uint64_t held_now(void)
{
	struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct data[2];
	memset(data, 0, sizeof data);
	if (syscall(SYS_capget, &hdr, data) < 0)
		return 0;
	return (uint64_t)data[0].permitted | ((uint64_t)data[1].permitted << 32);
}

static int limit_bounding_set(uint64_t mask)
{
	for (int cap = 0; cap < 64; cap++) {
		if ((mask >> cap) & 1)
			continue;
		if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0) {
			if (errno == EINVAL)
				break; /* past the last capability this kernel knows */
			return -1;
		}
	}
	return 0;
}

int apply_credentials(uint64_t mask, uid_t uid, gid_t gid, const char **stage)
{
	*stage = "capabilities";
	mask &= held_now();
	if (limit_bounding_set(mask) < 0)
		return errno;
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
		return errno;
	/* without keep-caps, leaving uid 0 clears permitted and effective */
	if (prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0)
		return errno;
	*stage = "setuid";
	if (setresgid(gid, gid, gid) < 0 || setresuid(uid, uid, uid) < 0)
		return errno;
	*stage = "capabilities";
	if (uid == 0 ? set_sets(mask, mask) < 0 : set_sets(0, 0) < 0)
		return errno;
	return 0;
}
