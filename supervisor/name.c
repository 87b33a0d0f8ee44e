/*
 * name.c: the grammar of job names, with nothing on disk. A name is at
 * most ID_MAX bytes of UTF-8 with no control character and no mark that
 * makes it read otherwise than it is; spoolctl gives names of the form
 * "D.YYYYmmddTHHMMSS.uuuuuu-PID-N.name", which carry a priority D and the
 * time of the submission. Text from outside (a progress line, a name
 * that is not one) is made fit to show.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "spoold.h"

/*
 * Length of the UTF-8 sequence at s, or 0 when it is not one; its code
 * point in *cpp.
 */
static size_t
name_utf8(const unsigned char *s, unsigned long *cpp)
{
	size_t n, i;
	unsigned c = s[0];
	unsigned long cp;

	*cpp = c;
	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		n = 2, cp = c & 0x1f;
	else if (c >= 0xe0 && c <= 0xef)
		n = 3, cp = c & 0x0f;
	else if (c >= 0xf0 && c <= 0xf4)
		n = 4, cp = c & 0x07;
	else
		return 0;
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 ||
	    cp > 0x10ffff)) || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	*cpp = cp;
	return n;
}

/* The marks and overrides that make a name read otherwise than it is. */
static int
name_bidi(unsigned long cp)
{
	return cp == 0x061c || cp == 0x200e || cp == 0x200f ||
	    (cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069);
}

/*
 * Copies text to buf, of len bytes, as valid UTF-8 with no control
 * character: each byte that is not is a '?', and a character that does
 * not fit whole is left out.
 */
void
name_text(char *buf, const char *text, size_t len)
{
	const unsigned char *p = (const unsigned char *)text;
	unsigned long cp;
	size_t n, o = 0;

	for (; *p != '\0' && o + 1 < len; p += n) {
		if ((n = name_utf8(p, &cp)) == 0 || cp < 0x20 || cp == 0x7f ||
		    (cp >= 0x80 && cp < 0xa0)) {
			buf[o++] = '?';
			n = n == 0 ? 1 : n;
			continue;
		}
		if (o + n >= len)
			break;
		memmove(buf + o, p, n); /* buf may be text */
		o += n;
	}
	if (len > 0)
		buf[o] = '\0';
}

/*
 * 0 when id can name a job; -1 with why set when it cannot. Names that
 * start with '.' are writes in progress and are the caller's to skip.
 */
int
name_check(const char *id, const char **why)
{
	const unsigned char *p;
	unsigned long cp;
	size_t n;

	if (strlen(id) > ID_MAX) {
		*why = "name longer than 251 bytes";
		return -1;
	}
	for (p = (const unsigned char *)id; *p != '\0'; p += n) {
		if (*p < 0x20 || *p == 0x7f) {
			*why = "control character in name";
			return -1;
		}
		if ((n = name_utf8(p, &cp)) == 0) {
			*why = "name is not UTF-8";
			return -1;
		}
		if (cp >= 0x80 && cp < 0xa0) {
			*why = "control character in name";
			return -1;
		}
		if (name_bidi(cp)) {
			*why = "bidirectional control character in name";
			return -1;
		}
	}
	return 0;
}

/*
 * The name as shown in a log or a listing: a name fit for a job as it
 * is; any other with each byte that is not printable ASCII as an octal
 * escape.
 */
void
name_shown(char *buf, const char *id, size_t len)
{
	const char *why;
	int ok = name_check(id, &why) == 0;
	size_t i, j = 0;

	for (i = 0; id[i] != '\0' && j + 5 < len; i++) {
		unsigned char c = id[i];
		if (c < 0x20 || c == 0x7f || (!ok && c >= 0x80))
			j += snprintf(buf + j, len - j, "\\%03o", c);
		else
			buf[j++] = c;
	}
	if (len > 0)
		buf[j] = '\0';
}

/* Whether id starts "D.YYYYmmddTHHMMSS.", as spoolctl names jobs. */
static int
name_stamped(const char *id)
{
	size_t i;

	if (id[0] < '0' || id[0] > '9' || id[1] != '.')
		return 0;
	for (i = 2; i < 17; i++)
		if (i == 10 ? id[i] != 'T' : (id[i] < '0' || id[i] > '9'))
			return 0;
	return id[17] == '.';
}

/* A job named "D.YYYYmmddTHHMMSS..." has priority D; others 0. */
int
name_priority(const char *id)
{
	return name_stamped(id) ? id[0] - '0' : 0;
}

/*
 * The submission time a job's name carries ("D.YYYYmmddTHHMMSS.uuuuuu"):
 * 1 with ts set, or 0 with ts zero when the name carries none.
 */
int
name_time(const char *id, struct timespec *ts)
{
	struct tm tm;
	char *end;
	long us;

	memset(ts, 0, sizeof(*ts));
	if (!name_stamped(id))
		return 0;
	memset(&tm, 0, sizeof(tm));
	if (strptime(id + 2, "%Y%m%dT%H%M%S", &tm) == NULL)
		return 0;
	ts->tv_sec = timegm(&tm);
	us = strtol(id + 18, &end, 10);
	if (end != id + 18 && us >= 0 && us < 1000000)
		ts->tv_nsec = us * 1000;
	return 1;
}

/*
 * The pid of the process that left a file in tmp/ (or index/): the writer
 * of ".w.PID.N" or ".sha256.PID.N", or the spoolctl that was submitting
 * ".ID", whose id spoolctl names "D.YYYYmmddTHHMMSS.uuuuuu-PID-N.name";
 * 0 for a file of another kind.
 */
pid_t
name_leftover(const char *name, const char **id)
{
	const char *p;
	char *end;
	long pid;

	*id = NULL;
	if (strncmp(name, ".w.", 3) == 0)
		p = name + 3;
	else if (strncmp(name, ".sha256.", 8) == 0)
		p = name + 8;
	else if (name[0] == '.' && name_stamped(name + 1) &&
	    (p = strchr(name + 19, '-')) != NULL) {
		*id = name + 1;
		p++;
	} else
		return 0;
	pid = strtol(p, &end, 10);
	if ((*end != '.' && *end != '-') || pid <= 0 || pid > INT32_MAX)
		return 0;
	return (pid_t)pid;
}
