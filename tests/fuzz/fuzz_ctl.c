/*
 * fuzz_ctl.c: libFuzzer target for spoolctl's command line as ctl_parse
 * (ctl_spool.c) reads it: the options before the verb, the verb, its
 * options (durations such as --delay 4s, priorities, states, a key) and
 * its operands. Nothing is acted on: ctl_parse opens no file and writes
 * none. The input is the words after "spoolctl", each ended by a NUL.
 * The program aborts unless:
 *
 * - a line refused says why (a non-empty message) or leaves it to the
 *   usage (NULL);
 * - a line taken names a verb spoolctl has, or is -V; its priority is 0
 *   to 9, its state -1 or one of enum jstate, its durations -1 (none) or
 *   0 to ten years, its key shorter than a status record's, its operands
 *   words of the line;
 * - the same line, parsed again, gives the same answer: no state of a
 *   parse is left for the next.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "spoold.h"
#include "spoolctl.h"
#include "fuzz.h"

#define WORDS_MAX 64
#define TEN_YEARS 315360000L

int LLVMFuzzerInitialize(int *, char ***);

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_quiet(); /* getopt's own messages */
	return 0;
}

static const char *verbs[] = {"submit", "ls", "show", "log", "retry",
    "cancel", "purge", "stats", "watch", "events", "info"};

static void
check_taken(const struct ctl_args *a, char **words, int n)
{
	size_t i;
	int j, k;

	if (a->version)
		return;
	for (i = 0; i < sizeof(verbs) / sizeof(*verbs); i++)
		if (a->verb != NULL && strcmp(a->verb, verbs[i]) == 0)
			break;
	if (i == sizeof(verbs) / sizeof(*verbs))
		fuzz_bad("fuzz_ctl: taken with verb %s", a->verb ? a->verb :
		    "(null)");
	if (a->priority < 0 || a->priority > 9)
		fuzz_bad("fuzz_ctl: priority %d", a->priority);
	if (a->state < -1 || a->state > JS_ERROR)
		fuzz_bad("fuzz_ctl: state %d", a->state);
	if (a->delay < 0 || a->delay > TEN_YEARS || a->older < -1 ||
	    a->older > TEN_YEARS)
		fuzz_bad("fuzz_ctl: delay %ld, older than %ld", a->delay,
		    a->older);
	if (a->key == NULL || strlen(a->key) >= sizeof(((struct status *)0)->key))
		fuzz_bad("fuzz_ctl: key of %zu bytes", a->key ? strlen(a->key) :
		    0);
	if (a->argc < 0 || a->argc > n)
		fuzz_bad("fuzz_ctl: %d operands of %d words", a->argc, n);
	for (j = 0; j < a->argc; j++) {
		for (k = 0; k < n && a->argv[j] != words[k]; k++)
			;
		if (k == n)
			fuzz_bad("fuzz_ctl: operand %d is no word of the line", j);
	}
}

static void
check_same(const struct ctl_args *a, const struct ctl_args *b)
{
	int j;

	if (a->version != b->version || (a->verb == NULL) != (b->verb == NULL) ||
	    (a->verb != NULL && strcmp(a->verb, b->verb) != 0) ||
	    a->priority != b->priority || a->state != b->state ||
	    a->delay != b->delay || a->older != b->older ||
	    a->json != b->json || a->follow != b->follow ||
	    a->all != b->all || a->force != b->force || a->link != b->link ||
	    a->argc != b->argc || strcmp(a->key, b->key) != 0)
		fuzz_bad("fuzz_ctl: parsed twice, two answers");
	for (j = 0; j < a->argc; j++)
		if (strcmp(a->argv[j], b->argv[j]) != 0)
			fuzz_bad("fuzz_ctl: operand %d: %s, then %s", j,
			    a->argv[j], b->argv[j]);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = fuzz_str(data, size), *p, *words[WORDS_MAX + 2];
	char *argv1[WORDS_MAX + 2], *argv2[WORDS_MAX + 2];
	struct ctl_args a, b;
	int n = 0, ra, rb;

	words[n++] = "spoolctl";
	for (p = text; p < text + size && n <= WORDS_MAX; p += strlen(p) + 1)
		words[n++] = p;
	words[n] = NULL;
	memcpy(argv1, words, sizeof(*words) * (n + 1));
	memcpy(argv2, words, sizeof(*words) * (n + 1));

	ra = ctl_parse(n, argv1, &a);
	rb = ctl_parse(n, argv2, &b);
	if (ra != rb)
		fuzz_bad("fuzz_ctl: parsed twice: %d, then %d", ra, rb);
	if (ra == -1) {
		if (a.why != NULL && a.why[0] == '\0')
			fuzz_bad("fuzz_ctl: refused with an empty message");
		if ((a.why == NULL) != (b.why == NULL) || (a.why != NULL &&
		    strcmp(a.why, b.why) != 0))
			fuzz_bad("fuzz_ctl: refused twice, two messages");
	} else {
		check_taken(&a, words, n);
		check_same(&a, &b);
	}
	free(a.why);
	free(b.why);
	free(text);
	return 0;
}
