/*
 * unit_log.h: what spoold logs during a test, caught: logged_begin()
 * sends fd 2 to a file of its own, logged_end() gives back what came.
 */
#ifndef UNIT_LOG_H
#define UNIT_LOG_H

#include <stdio.h>
#include <unistd.h>

#include "unit.h"

static char logged[4096];

/* Sends fd 2 to a temporary file until logged_end() puts it in logged. */
static FILE *log_tmp;
static int log_saved = -1;

static inline void
logged_begin(void)
{
	log_tmp = tmpfile();
	assert_non_null(log_tmp);
	fflush(stderr);
	log_saved = dup(STDERR_FILENO);
	assert_true(log_saved != -1);
	assert_true(dup2(fileno(log_tmp), STDERR_FILENO) != -1);
}

static inline const char *
logged_end(void)
{
	size_t n;

	fflush(stderr);
	assert_true(dup2(log_saved, STDERR_FILENO) != -1);
	close(log_saved);
	rewind(log_tmp);
	n = fread(logged, 1, sizeof(logged) - 1, log_tmp);
	logged[n] = '\0';
	fclose(log_tmp);
	return logged;
}

#endif
