/*
 * fuzz.h: what the fuzz targets that read files or print share. A target
 * includes it once; everything here is static.
 *
 * - fuzz_bad says what broke on fd 2 (libFuzzer's own output, which the
 *   sanitizers also write to) and aborts;
 * - fuzz_dir makes the target's folder, once, under $TMPDIR (make fuzz and
 *   make fuzz-replay point it inside the build folder), and fuzz_put
 *   writes an input there as a file of the name a reader opens;
 * - fuzz_text_bad tells where a text breaks what name_text promises;
 * - fuzz_quiet points stdio's stdout and stderr at /dev/null (glibc lets
 *   a program assign them), so that what the code prints is thrown away
 *   while libFuzzer, which keeps the streams it started with, still speaks.
 */
#ifndef FUZZ_H
#define FUZZ_H

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void fuzz_bad(const char *, ...) __attribute__((format(printf, 1, 2),
    noreturn, unused));

static void
fuzz_bad(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vdprintf(STDERR_FILENO, fmt, ap);
	dprintf(STDERR_FILENO, "\n");
	va_end(ap);
	abort();
}

/* The target's folder, open; made at the first call. */
static __attribute__((unused)) int
fuzz_dir(char *path, size_t len)
{
	static char dir[256];
	static int fd = -1;
	const char *tmp = getenv("TMPDIR");

	if (fd == -1) {
		snprintf(dir, sizeof(dir), "%s/fuzz.XXXXXX", tmp != NULL &&
		    tmp[0] != '\0' && strlen(tmp) < 200 ? tmp : "/tmp");
		if (mkdtemp(dir) == NULL ||
		    (fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
			fuzz_bad("mkdtemp %s: %s", dir, strerror(errno));
	}
	if (path != NULL)
		snprintf(path, len, "%s", dir);
	return fd;
}

/* The input as the file name of folder dfd, replaced whole. */
static __attribute__((unused)) void
fuzz_put(int dfd, const char *name, const uint8_t *data, size_t size)
{
	size_t off = 0;
	ssize_t n;
	int fd;

	if ((fd = openat(dfd, name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	    0600)) == -1)
		fuzz_bad("open %s: %s", name, strerror(errno));
	while (off < size) {
		n = write(fd, data + off, size - off);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			fuzz_bad("write %s: %s", name, strerror(errno));
		off += (size_t)n;
	}
	close(fd);
}

static __attribute__((unused)) void
fuzz_quiet(void)
{
	FILE *null;

	if ((null = fopen("/dev/null", "w")) == NULL)
		fuzz_bad("/dev/null: %s", strerror(errno));
	stdout = null;
	stderr = null;
}

/* Length of the well-formed UTF-8 sequence at s, or 0 (Unicode 3.9). */
static __attribute__((unused)) size_t
fuzz_utf8_len(const unsigned char *s)
{
	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		return (s[1] & 0xc0) == 0x80 ? 2 : 0;
	if (s[0] >= 0xe0 && s[0] <= 0xef) {
		unsigned lo = s[0] == 0xe0 ? 0xa0 : 0x80;
		unsigned hi = s[0] == 0xed ? 0x9f : 0xbf;
		return s[1] >= lo && s[1] <= hi && (s[2] & 0xc0) == 0x80 ? 3 : 0;
	}
	if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		unsigned lo = s[0] == 0xf0 ? 0x90 : 0x80;
		unsigned hi = s[0] == 0xf4 ? 0x8f : 0xbf;
		return s[1] >= lo && s[1] <= hi && (s[2] & 0xc0) == 0x80 &&
		    (s[3] & 0xc0) == 0x80 ? 4 : 0;
	}
	return 0;
}

/*
 * The first byte of text that is no part of UTF-8 with no control
 * character (below 0x20, 0x7f, U+0080 to U+009F), no overlong form,
 * surrogate or code point past U+10FFFF; NULL when there is none.
 */
static __attribute__((unused)) const char *
fuzz_text_bad(const char *text)
{
	const unsigned char *p;
	size_t n;

	for (p = (const unsigned char *)text; *p != '\0'; p += n) {
		if (*p < 0x20 || *p == 0x7f || (n = fuzz_utf8_len(p)) == 0 ||
		    (n == 2 && p[0] == 0xc2 && p[1] < 0xa0))
			return (const char *)p;
	}
	return NULL;
}

/* The input as a C string, to be freed. */
static __attribute__((unused)) char *
fuzz_str(const uint8_t *data, size_t size)
{
	char *s;

	if ((s = malloc(size + 1)) == NULL)
		fuzz_bad("malloc: %s", strerror(errno));
	memcpy(s, data, size);
	s[size] = '\0';
	return s;
}

#endif
