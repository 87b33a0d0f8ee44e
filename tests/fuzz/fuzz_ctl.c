/*
 * fuzz_ctl.c: libFuzzer target for spoolctl's command line as ctl_parse
 * (ctl_verbs.c) reads it: the options before the verb, the requests for
 * help (-h, --help, help [VERB], VERB -h), the verb, its options
 * (durations such as --delay 4s, priorities, states, a key) and its
 * operands. Nothing is acted on: ctl_parse opens no file and writes none;
 * the help or usage an answer calls for is printed (to /dev/null) by
 * ctl_help. The input is the words after "spoolctl", each ended by a NUL.
 * The program aborts unless:
 *
 * - a line refused says why (a non-empty message) or leaves it to the
 *   usage (NULL), and one whose usage does not follow says why;
 * - a line taken names a verb spoolctl has, or is -V, or asks for help;
 *   its priority is 0 to 9, its state -1 or one of enum jstate, its
 *   durations -1 (none) or 0 to ten years, its key shorter than a status
 *   record's, its operands words of the line;
 * - a line that asks for help is taken as such, with the verb it names:
 *   -h or --help first; "help" alone or with a verb; a verb with -h or
 *   --help before any --;
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

#define NVERBS 12
static const char *verbs[NVERBS] = {"submit", "ls", "show", "log",
    "retry", "cancel", "purge", "stats", "watch", "events", "info", "help"};

/* Whether w is a verb of spoolctl; help counts only when help is set. */
static int
is_verb(const char *w, int help)
{
	size_t i;

	for (i = 0; i < NVERBS - !help; i++)
		if (strcmp(w, verbs[i]) == 0)
			return 1;
	return 0;
}

static int
is_help(const char *w)
{
	return strcmp(w, "-h") == 0 || strcmp(w, "--help") == 0;
}

/*
 * The help a line asks for beyond doubt: 1 with the verb it names in
 * *verb (NULL for spoolctl's help), else 0.
 */
static int
help_asked(char **words, int n, const char **verb)
{
	int i;

	*verb = NULL;
	if (n >= 2 && is_help(words[1]))
		return 1;
	if (n == 2 && strcmp(words[1], "help") == 0)
		return 1;
	if (n == 3 && strcmp(words[1], "help") == 0 && is_verb(words[2], 1)) {
		*verb = words[2];
		return 1;
	}
	if (n < 2 || !is_verb(words[1], 0))
		return 0;
	for (i = 2; i < n && strcmp(words[i], "--") != 0; i++)
		if (is_help(words[i])) {
			*verb = words[1];
			return 1;
		}
	return 0;
}

static void
check_help(const struct ctl_args *a, char **words, int n, int r)
{
	const char *verb;

	if (help_asked(words, n, &verb) && (r == -1 || !a->help ||
	    (verb == NULL) != (a->verb == NULL) ||
	    (verb != NULL && strcmp(verb, a->verb->name) != 0)))
		fuzz_bad("fuzz_ctl: help for %s asked, not given",
		    verb != NULL ? verb : "spoolctl");
	if (r == 0 && a->help && a->verb != NULL && !is_verb(a->verb->name, 1))
		fuzz_bad("fuzz_ctl: help for verb %s", a->verb->name);
	if (r == 0 && a->help)
		ctl_help(stdout, a->verb);
}

static void
check_taken(const struct ctl_args *a, char **words, int n)
{
	int j, k;

	if (a->version || a->help)
		return;
	if (a->verb == NULL || !is_verb(a->verb->name, 0) || a->verb->fn == NULL)
		fuzz_bad("fuzz_ctl: taken with verb %s", a->verb ?
		    a->verb->name : "(null)");
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

	if (a->version != b->version || a->help != b->help ||
	    a->verb != b->verb ||
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
		if (a.why == NULL && !a.usage)
			fuzz_bad("fuzz_ctl: refused with neither why nor usage");
		if ((a.why == NULL) != (b.why == NULL) || (a.why != NULL &&
		    strcmp(a.why, b.why) != 0) || a.usage != b.usage ||
		    a.verb != b.verb)
			fuzz_bad("fuzz_ctl: refused twice, two answers");
		if (a.usage)
			ctl_help(stderr, a.verb);
	} else {
		check_taken(&a, words, n);
		check_same(&a, &b);
	}
	check_help(&a, words, n, ra);
	free(a.why);
	free(b.why);
	free(text);
	return 0;
}
