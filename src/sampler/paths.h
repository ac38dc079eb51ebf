/* paths.h — showing file names the way people read them.
 *
 * A profile full of /usr/lib/python3.12/site-packages/django/db/models/query.py
 * is hard to read; what identifies the file is django/db/models/query.py.
 * Names are shown relative to the target's import roots: after the last
 * site-packages/ or dist-packages/, after lib/pythonX.Y/, or relative to the
 * script's directory. --full-paths keeps them whole. */
#ifndef PYFLARE_SAMPLER_PATHS_H
#define PYFLARE_SAMPLER_PATHS_H

#include <stddef.h>

#include "profile/profile.h"

/* Writes the shortened form of path into out (script_dir may be NULL or "")
 * and returns where the file comes from, judged by the root that matched. */
pf_origin sampler_shorten_path(const char *path, const char *script_dir, char *out, size_t cap);

#endif
