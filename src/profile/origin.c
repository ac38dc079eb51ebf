/* origin.c — a Python file's origin from its path (see origin.h). */
#include "profile/origin.h"

#include <stdio.h>
#include <string.h>

/* Does path[at..] start a directory (at the start of the path or after '/')? */
static int dir_start(const char *path, const char *at) { return at == path || at[-1] == '/'; }

/* After the last directory `name` (e.g. "site-packages/") that starts a
 * path component, or NULL. */
static const char *after_last_dir(const char *path, const char *name) {
    const char *found = NULL;
    size_t len = strlen(name);
    for (const char *p = strstr(path, name); p; p = strstr(p + 1, name))
        if (dir_start(path, p))
            found = p + len;
    return found;
}

/* After the last "lib/pythonX[.Y][flags]/" or "lib64/python..." component pair, or NULL. */
static const char *after_stdlib_root(const char *path) {
    const char *found = NULL;
    for (const char *p = strstr(path, "python"); p; p = strstr(p + 1, "python")) {
        int lib = p - path >= 4 && !memcmp(p - 4, "lib/", 4) && dir_start(path, p - 4);
        int lib64 = p - path >= 6 && !memcmp(p - 6, "lib64/", 6) && dir_start(path, p - 6);
        if (!lib && !lib64)
            continue;
        const char *q = p + strlen("python");
        if (*q < '0' || *q > '9')
            continue;
        while ((*q >= '0' && *q <= '9') || *q == '.')
            q++;
        while (*q == 'd' || *q == 'm' || *q == 'u' || *q == 't') /* ABI flags: debug, pymalloc, wide, free-threaded */
            q++;
        if (*q == '/')
            found = q + 1;
    }
    return found;
}

pf_origin pf_origin_of_path(const char *path, const char **rest) {
    const char *site = after_last_dir(path, "site-packages/"), *dist = after_last_dir(path, "dist-packages/");
    const char *after = site > dist ? site : dist;
    pf_origin origin = PF_ORIGIN_THIRD_PARTY;
    if (!after) {
        origin = PF_ORIGIN_STDLIB;
        after = after_stdlib_root(path);
    }
    if (!after && !strncmp(path, "<frozen ", 8))
        after = path;
    if (!after) {
        origin = PF_ORIGIN_OWN;
        after = path;
    }
    if (rest)
        *rest = after;
    return origin;
}

int pf_origin_root_for(const char *file, pf_origin origin, const char *python_version, char *buf, size_t cap) {
    if (origin == PF_ORIGIN_UNKNOWN || pf_origin_of_path(file, NULL) == origin)
        return snprintf(buf, cap, "%s", "");
    if (origin == PF_ORIGIN_THIRD_PARTY)
        return snprintf(buf, cap, "%s", "site-packages/");
    if (origin == PF_ORIGIN_STDLIB) {
        unsigned major, minor;
        if (python_version && sscanf(python_version, "%u.%u", &major, &minor) == 2)
            return snprintf(buf, cap, "lib/python%u.%u/", major, minor);
        return snprintf(buf, cap, "%s", "lib/python3/");
    }
    /* Own code whose shortened name reads like a root cannot happen: the whole
     * path held that root too, and the origin would say so. */
    return snprintf(buf, cap, "%s", "");
}
