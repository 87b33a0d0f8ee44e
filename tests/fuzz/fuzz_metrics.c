/*
 * fuzz_metrics.c: libFuzzer target for index/metrics.json as its readers
 * take it: spoold, which starts its counters from it (metrics_load of
 * metrics.c), and spoolctl stats, which prints it as it is (--json) and
 * as a table, with the forecast of schedule.json (ctl_stats_show of
 * ctl_list.c; it ends spoolctl when the file is not JSON, so it is given
 * only JSON). The input is written as both files in a folder of the
 * target's own, which stands for the spool's index/. The program aborts
 * unless metrics_load reads the input when, and only when, it is a JSON
 * object, gives each stage of its "stages" object once, in order, and
 * leaves the counters and the mark of the events at 0 when it refuses it; and it aborts, with ASan
 * and UBSan, on any fault of the readers.
 */
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "spoold.h"
#include "spoolctl.h"
#include "fuzz.h"

static char dir[256];

int LLVMFuzzerInitialize(int *, char ***);

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	C.sp.indexfd = fuzz_dir(dir, sizeof(dir));
	C.spooldir = dir;
	fuzz_quiet();
	return 0;
}

struct seen {
	json_t *stages;
	void *iter;
};

/* Each stage metrics_load gives is the next of the input's "stages". */
static int
stage_seen(void *arg, const char *name, const struct counters *c)
{
	struct seen *s = arg;

	(void)c;
	if (s->iter == NULL || strcmp(json_object_iter_key(s->iter), name) != 0)
		fuzz_bad("fuzz_metrics: stage \"%s\" given out of turn", name);
	s->iter = json_object_iter_next(s->stages, s->iter);
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct counters total;
	struct evmark mark;
	struct seen seen;
	char *text = fuzz_str(data, size);
	json_t *o;
	int r;

	fuzz_put(C.sp.indexfd, "metrics.json", data, size);
	fuzz_put(C.sp.indexfd, "schedule.json", data, size);
	o = json_loads(text, 0, NULL);
	seen.stages = json_object_get(o, "stages");
	seen.iter = json_object_iter(seen.stages);
	memset(&total, 0x5a, sizeof(total));
	memset(&mark, 0x5a, sizeof(mark));
	r = metrics_load(&C.sp, &total, &mark, stage_seen, &seen);
	if ((r == 0) != json_is_object(o))
		fuzz_bad("fuzz_metrics: metrics_load gave %d for %s JSON "
		    "object", r, json_is_object(o) ? "a" : "no");
	if (r == 0 && seen.iter != NULL)
		fuzz_bad("fuzz_metrics: stage \"%s\" not given",
		    json_object_iter_key(seen.iter));
	if (r == -1 && (total.done != 0 || total.error != 0 ||
	    total.runs != 0 || mark.ino != 0 || mark.off != 0))
		fuzz_bad("fuzz_metrics: counters set from a refused file");
	if (o != NULL) {
		ctl_stats_show(1);
		ctl_stats_show(0);
	}
	json_decref(o);
	free(text);
	return 0;
}
