/* paths.c — file names relative to import roots (see paths.h). */
#include "sampler/paths.h"

#include <stdio.h>
#include <string.h>

/* The position just after the last "/lib/pythonX.Y/" (or "/lib/pythonX.Y/" with
 * a suffix such as "m"), or NULL. */
static const char *after_stdlib_root(const char *path) {
    const char *found = NULL;
    for (const char *p = strstr(path, "/lib/python"); p; p = strstr(p + 1, "/lib/python")) {
        const char *q = p + strlen("/lib/python");
        if (*q < '0' || *q > '9')
            continue;
        while ((*q >= '0' && *q <= '9') || *q == '.' || *q == 'm' || *q == 'd' || *q == 'u' || *q == 't')
            q++;
        if (*q == '/')
            found = q + 1;
    }
    return found;
}

static const char *after_last(const char *path, const char *marker) {
    const char *found = NULL;
    for (const char *p = strstr(path, marker); p; p = strstr(p + 1, marker))
        found = p + strlen(marker);
    return found;
}

pf_origin sampler_shorten_path(const char *path, const char *script_dir, char *out, size_t cap) {
    pf_origin origin = PF_ORIGIN_THIRD_PARTY;
    const char *rest = after_last(path, "/site-packages/");
    const char *dist = after_last(path, "/dist-packages/");
    if (dist > rest)
        rest = dist;
    if (!rest) {
        origin = PF_ORIGIN_STDLIB;
        rest = after_stdlib_root(path);
    }
    if (!rest && !strncmp(path, "<frozen ", 8))
        rest = path; /* frozen standard-library modules */
    if (!rest) {
        origin = PF_ORIGIN_OWN;
        if (script_dir && *script_dir) {
            size_t len = strlen(script_dir);
            if (!strncmp(path, script_dir, len) && path[len] == '/')
                rest = path + len + 1;
        }
    }
    snprintf(out, cap, "%s", rest && *rest ? rest : path);
    return origin;
}
