/*
 * unit_stages.h: two stages and their counters, as metrics.json and
 * status.html show them, for test_metrics.c and test_page.c.
 */
#ifndef UNIT_STAGES_H
#define UNIT_STAGES_H

static const struct counters total = {100, 4, 17, 2, 3, 0, 0, 0, 0};
static const struct counters prep_c = {0, 1, 9, 2, 0, 960, 123456, 98765,
	204800};
static const struct counters ocr_c = {950, 3, 8, 0, 0, 955, 4000000000ULL,
	3000000000ULL, 1048576};

static void
stages(struct mstage *ms)
{
	memset(ms, 0, 2 * sizeof(*ms));
	ms[0].name = "prep";
	ms[0].slots = 2;
	ms[0].queued = 10;
	ms[0].running = 2;
	ms[0].deferred = 1;
	ms[0].c = &prep_c;
	ms[1].name = "ocr";
	ms[1].slots = 1;
	ms[1].queued = 2;
	ms[1].running = 1;
	ms[1].deferred = 0;
	ms[1].c = &ocr_c;
}

#endif
