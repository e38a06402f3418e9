/* `denia-init exec`: join a running replica (service console).
 *
 * Reserved for the console work (SPEC §18). The intended shape, so the
 * pieces in this helper can be shared:
 *   1. read a small spec (target init pid, argv, env, uid/gid, pty fds)
 *   2. join the init's cgroup, then setns() into its user, mount, pid, net,
 *      uts, ipc and cgroup namespaces (pidfd_open + setns(pidfd, flags))
 *   3. fork so the child is born inside the pid namespace
 *   4. in the child: drop capabilities, no_new_privs and the same seccomp
 *      denylist as the workload (install_seccomp_denylist), close fds, exec
 *   5. report `ready` / `exited <code>` / `failed <stage>: <text>` on fd 3
 *      with the same protocol as `launch`. */
#include "common.h"

int exec_main(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	status_line("failed exec-mode: not implemented yet");
	return 2;
}
