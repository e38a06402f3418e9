/* The small strict JSON reader behind the launch spec: whitespace, strings
 * (decoded in place, NUL refused), non-negative integers and arrays of
 * strings — exactly the shapes spec.c accepts. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
void json_skip_ws(struct parser *ps)
{
	while (*ps->p == ' ' || *ps->p == '\n' || *ps->p == '\r' || *ps->p == '\t')
		ps->p++;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static int read_hex4(const char *s, unsigned *out)
{
	unsigned v = 0;
	for (int i = 0; i < 4; i++) {
		int h = hexval(s[i]);
		if (h < 0)
			return -1;
		v = v * 16 + (unsigned)h;
	}
	*out = v;
	return 0;
}

static char *put_utf8(char *w, unsigned cp)
{
	if (cp < 0x80) {
		*w++ = (char)cp;
	} else if (cp < 0x800) {
		*w++ = (char)(0xC0 | (cp >> 6));
		*w++ = (char)(0x80 | (cp & 0x3F));
	} else if (cp < 0x10000) {
		*w++ = (char)(0xE0 | (cp >> 12));
		*w++ = (char)(0x80 | ((cp >> 6) & 0x3F));
		*w++ = (char)(0x80 | (cp & 0x3F));
	} else {
		*w++ = (char)(0xF0 | (cp >> 18));
		*w++ = (char)(0x80 | ((cp >> 12) & 0x3F));
		*w++ = (char)(0x80 | ((cp >> 6) & 0x3F));
		*w++ = (char)(0x80 | (cp & 0x3F));
	}
	return w;
}

/* Decode a JSON string in place; returns its start or NULL. NUL bytes
 * (\u0000) are refused since the values become C strings. */
char *json_string(struct parser *ps)
{
	if (*ps->p != '"') {
		ps->why = "expected a string";
		return NULL;
	}
	char *start = ++ps->p;
	char *w = start;
	for (;;) {
		char c = *ps->p;
		if (c == '\0') {
			ps->why = "unterminated string";
			return NULL;
		}
		if ((unsigned char)c < 0x20) {
			ps->why = "control character in string";
			return NULL;
		}
		if (c == '"') {
			ps->p++;
			*w = '\0';
			return start;
		}
		if (c != '\\') {
			*w++ = c;
			ps->p++;
			continue;
		}
		char e = ps->p[1];
		ps->p += 2;
		switch (e) {
		case '"': *w++ = '"'; break;
		case '\\': *w++ = '\\'; break;
		case '/': *w++ = '/'; break;
		case 'b': *w++ = '\b'; break;
		case 'f': *w++ = '\f'; break;
		case 'n': *w++ = '\n'; break;
		case 'r': *w++ = '\r'; break;
		case 't': *w++ = '\t'; break;
		case 'u': {
			unsigned cp;
			if (read_hex4(ps->p, &cp) < 0) {
				ps->why = "bad \\u escape";
				return NULL;
			}
			ps->p += 4;
			if (cp >= 0xD800 && cp <= 0xDBFF) {
				unsigned lo;
				if (ps->p[0] != '\\' || ps->p[1] != 'u' || read_hex4(ps->p + 2, &lo) < 0 ||
				    lo < 0xDC00 || lo > 0xDFFF) {
					ps->why = "bad surrogate pair";
					return NULL;
				}
				ps->p += 6;
				cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
			}
			if (cp == 0) {
				ps->why = "NUL in string";
				return NULL;
			}
			w = put_utf8(w, cp);
			break;
		}
		default:
			ps->why = "bad escape";
			return NULL;
		}
	}
}

int json_uint(struct parser *ps, unsigned long *out)
{
	char *end;
	if (*ps->p < '0' || *ps->p > '9') {
		ps->why = "expected a non-negative integer";
		return -1;
	}
	errno = 0;
	unsigned long v = strtoul(ps->p, &end, 10);
	if (errno != 0 || *end == '.' || *end == 'e' || *end == 'E') {
		ps->why = "integer out of range";
		return -1;
	}
	ps->p = end;
	*out = v;
	return 0;
}

int json_str_array(struct parser *ps, char **out, size_t max)
{
	size_t n = 0;
	if (*ps->p != '[') {
		ps->why = "expected an array";
		return -1;
	}
	ps->p++;
	json_skip_ws(ps);
	if (*ps->p == ']') {
		ps->p++;
		out[0] = NULL;
		return 0;
	}
	for (;;) {
		json_skip_ws(ps);
		if (n >= max) {
			ps->why = "array too long";
			return -1;
		}
		char *s = json_string(ps);
		if (!s)
			return -1;
		out[n++] = s;
		json_skip_ws(ps);
		if (*ps->p == ',') {
			ps->p++;
			continue;
		}
		if (*ps->p == ']') {
			ps->p++;
			break;
		}
		ps->why = "expected , or ] in array";
		return -1;
	}
	out[n] = NULL;
	return 0;
}

int json_uint_max(struct parser *ps, unsigned long max, unsigned long *out)
{
	if (json_uint(ps, out) < 0)
		return -1;
	if (*out > max) {
		ps->why = "integer out of range";
		return -1;
	}
	return 0;
}
