/* denia-init: the one native piece of Denia. See docs/adr/0101-runtime-helper.md. */
#include <stdio.h>
#include <string.h>

#include "common.h"

#ifndef DENIA_VERSION
#define DENIA_VERSION "dev"
#endif

static const struct {
	const char *name;
	int (*run)(int argc, char **argv);
} modes[] = {
	{ "launch", launch_main },
	{ "exec", exec_main },
	{ "tar-pipe", tarpipe_main },
	{ "send-pipe", sendpipe_main },
	{ "recv-pipe", recvpipe_main },
	{ "probe-idmap", probe_idmap_main },
	{ "overlay-marks", overlay_marks_main },
};

static int usage(void)
{
	fprintf(stderr, "usage: denia-init launch   (spec JSON on stdin, status lines on fd 3)\n"
			"       denia-init exec     (reserved)\n"
			"       denia-init tar-pipe <control-fd>   (stdin -> stdout as fd told)\n"
			"       denia-init send-pipe <fd> [<idle-ms>]   (stdin -> fd until stdin ends)\n"
			"       denia-init recv-pipe <fd> <count> <idle-ms> [<copy-fd>]   (stdin, then count bytes of fd -> stdout)\n"
			"       denia-init probe-idmap <dir>   (can a rootfs on <dir>'s file system be mounted idmapped?)\n"
			"       denia-init overlay-marks <dir>   (opaque/redirect marks of a layer tree, NUL-separated)\n"
			"       denia-init version\n");
	return 2;
}

int main(int argc, char **argv)
{
	if (argc < 2)
		return usage();
	if (strcmp(argv[1], "version") == 0) {
		printf("denia-init %s\n", DENIA_VERSION);
		return 0;
	}
	for (size_t i = 0; i < sizeof modes / sizeof modes[0]; i++)
		if (strcmp(argv[1], modes[i].name) == 0)
			return modes[i].run(argc - 1, argv + 1);
	return usage();
}
