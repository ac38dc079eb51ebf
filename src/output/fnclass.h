/* fnclass.h — functions merged as a format shows them.
 *
 * callgrind and pstats name a function by strings of their own (escaped, or
 * made valid UTF-8; builtins as "~"), and their readers merge functions that
 * show the same; so both writers aggregate by class, one class per distinct
 * shown key, which is built here once. */
#ifndef PYFLARE_OUTPUT_FNCLASS_H
#define PYFLARE_OUTPUT_FNCLASS_H

#include <stdint.h>

#include "profile/profile.h"
#include "report/aggregate.h"

typedef struct out_fn_class {
    char *file, *name; /* as shown; malloc'd */
    int32_t line;
} out_fn_class;

/* How a format shows fn: malloc'd *file and *name (left NULL when out of
 * memory) and *line. Returns 1 to leave fn out of every class (class 0). */
typedef int (*out_fn_show)(const pf_profile *p, const pf_func *fn, char **file, char **name, int32_t *line);

/* Functions grouped by how a format shows them. */
typedef struct out_fn_classes {
    uint32_t *of;        /* of[i]: function i's class, 1 to map.n (0: left out); one per function */
    out_fn_class *shown; /* by class: the first such function's strings; nshown entries, zeroed past map.n */
    size_t nshown;
    out_strmap map;
} out_fn_classes;

/* Fills k (which out_fn_classes_free then frees, whatever the result): room
 * for `extra` classes more than one per function. Functions share a class
 * when they show the same file and name, and the same line when by_line.
 * 0, or -1 when out of memory. */
int out_fn_classes_build(const pf_profile *p, out_fn_show show, int by_line, size_t extra, out_fn_classes *k);
void out_fn_classes_free(out_fn_classes *k);

#endif
