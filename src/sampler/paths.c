/* paths.c — file names relative to import roots (see paths.h). Which root a
 * path is under, and so its origin, is decided by profile/origin.c. */
#include "sampler/paths.h"

#include <stdio.h>
#include <string.h>

#include "profile/origin.h"

pf_origin sampler_shorten_path(const char *path, const char *script_dir, char *out, size_t cap) {
    const char *rest;
    pf_origin origin = pf_origin_of_path(path, &rest);
    if (origin == PF_ORIGIN_OWN && script_dir && *script_dir) {
        size_t len = strlen(script_dir);
        if (!strncmp(path, script_dir, len) && path[len] == '/')
            rest = path + len + 1;
    }
    snprintf(out, cap, "%s", rest && *rest ? rest : path);
    return origin;
}
