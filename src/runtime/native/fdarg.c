/* The descriptor argument of the pipe modes (tar-pipe, send-pipe). */
#include <errno.h>
#include <stdlib.h>

#include "common.h"

int parse_fd_arg(const char *text)
{
	char *end = NULL;
	errno = 0;
	long fd = strtol(text, &end, 10);
	int ok = errno == 0 && end != text && *end == '\0' && fd >= 3 && fd <= 1024;
	errno = 0;
	return ok ? (int)fd : -1;
}
