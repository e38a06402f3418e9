/* `denia-init overlay-marks <dir>`: the overlayfs marks of a layer tree that
 * only extended attributes carry (ADR 0822), which Node cannot read. For
 * every opaque directory (trusted.overlay.opaque = "y", or the user.
 * namespace's) one record `o<path>` is written to stdout, `<path>` relative
 * to <dir>, each record ended by a NUL byte. A redirect or metacopy mark,
 * which a merge by hard links cannot honour, is a record `x<path>`. Exit 0
 * when the walk completed, 1 (a message on stderr) when it did not. */
#define _GNU_SOURCE
#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <string.h>
#include <sys/xattr.h>

#include "common.h"

static size_t g_root_len;

static int has_xattr(const char *path, const char *name, const char *want)
{
	char value[8];
	ssize_t n = lgetxattr(path, name, value, sizeof value);
	if (n < 0)
		return 0;
	return want == NULL || ((size_t)n == strlen(want) && memcmp(value, want, (size_t)n) == 0);
}

static void record(char kind, const char *path)
{
	const char *rel = path + g_root_len;
	while (*rel == '/')
		rel++;
	putchar(kind);
	fputs(rel, stdout);
	putchar('\0');
}

static int visit(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)st;
	if (ftw->level == 0)
		return 0;
	if (type == FTW_DNR || type == FTW_NS) {
		fprintf(stderr, "denia-init overlay-marks: %s: cannot read\n", path);
		return 1;
	}
	if (type == FTW_D &&
	    (has_xattr(path, "trusted.overlay.opaque", "y") || has_xattr(path, "user.overlay.opaque", "y")))
		record('o', path);
	if (has_xattr(path, "trusted.overlay.redirect", NULL) || has_xattr(path, "trusted.overlay.metacopy", NULL) ||
	    has_xattr(path, "user.overlay.redirect", NULL) || has_xattr(path, "user.overlay.metacopy", NULL))
		record('x', path);
	return 0;
}

int overlay_marks_main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: denia-init overlay-marks <dir>\n");
		return 2;
	}
	g_root_len = strlen(argv[1]);
	int rc = nftw(argv[1], visit, 64, FTW_PHYS);
	if (rc < 0)
		fprintf(stderr, "denia-init overlay-marks: %s: %s\n", argv[1], strerror(errno));
	if (fflush(stdout) != 0)
		return 1;
	return rc == 0 ? 0 : 1;
}
