/*
 * unit_stconf.h: a stage of three attempts, its fail codes, and wait
 * statuses made by hand, for test_child.c and test_place.c.
 */
#ifndef UNIT_STCONF_H
#define UNIT_STCONF_H

static int codes[] = {64, 65, 66, 77, 78};

static struct stconf *
stage(void)
{
	static struct stconf sc;

	memset(&sc, 0, sizeof(sc));
	sc.name = "prep";
	sc.attempts = 3;
	sc.timeout = 600;
	sc.heartbeat = 60;
	sc.fail_codes = codes;
	sc.nfail = sizeof(codes) / sizeof(*codes);
	return &sc;
}

#define EXITED(c) W_EXITCODE((c), 0)
#define KILLED(s) W_EXITCODE(0, (s))

#endif
