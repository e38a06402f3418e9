/* JSON primitives for the launch spec (json.c). */
#ifndef DENIA_JSON_H
#define DENIA_JSON_H

#include <stddef.h>

struct parser {
	char *p;
	const char *why; /* set on failure */
};

void json_skip_ws(struct parser *ps);
/* Decode a string in place; its start, or NULL. */
char *json_string(struct parser *ps);
int json_uint(struct parser *ps, unsigned long *out);
/* At most `max` strings into out[], NULL-terminated. */
int json_str_array(struct parser *ps, char **out, size_t max);
int json_uint_max(struct parser *ps, unsigned long max, unsigned long *out);

#endif
