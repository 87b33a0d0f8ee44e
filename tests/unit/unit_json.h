/*
 * unit_json.h: what the tests of JSON spoold writes share: a key's
 * integer, which must be one.
 */
#ifndef UNIT_JSON_H
#define UNIT_JSON_H

#include <jansson.h>

#include "unit.h"

static inline json_int_t
num(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);

	assert_true(json_is_integer(v));
	return json_integer_value(v);
}

#endif
