/* origin.h — where a Python file comes from, judged once from its path.
 *
 * Colouring needs to know whether a frame is the program's own code, the
 * standard library or third-party code. The path says it while it is whole
 * (/usr/lib/python3.12/threading.py) and sometimes after it was shortened
 * for display (django/... no longer does; see sampler/paths.c, which records
 * the origin before shortening). This is the only place that reads a path for
 * it: the sampler, the profile's default for every function interned, and
 * folded input all ask here, and writers read pf_func.origin only.
 *
 *   third-party  after the last site-packages/ or dist-packages/ directory
 *   standard     after lib/pythonX[.Y][abiflags]/ (lib64/ too; abiflags such
 *                as "t" for free-threaded builds, "d", "m", "u"), or a frozen
 *                module ("<frozen importlib._bootstrap>")
 *   own          anything else
 * A directory matches at the start of the path or after a '/', so a
 * relative path that keeps its root ("lib/python3.13t/threading.py", as
 * folded output writes one) still says where it comes from. */
#ifndef PYFLARE_PROFILE_ORIGIN_H
#define PYFLARE_PROFILE_ORIGIN_H

#include "profile/profile.h"

/* The origin of path (never PF_ORIGIN_UNKNOWN); *rest, when rest is not NULL,
 * is set to the part of path after the matched root directory, or to path
 * itself for own code and frozen modules. */
pf_origin pf_origin_of_path(const char *path, const char **rest);

/* The directory to put before a shortened file name so that the name says
 * its origin again: "site-packages/" for third-party, "lib/pythonX.Y/" for
 * the standard library (X.Y from python_version, "3.12.1" -> "python3.12";
 * "python3" when it is not known). Returns the length written (snprintf-like);
 * writes "" when pf_origin_of_path(file) already gives origin. */
int pf_origin_root_for(const char *file, pf_origin origin, const char *python_version, char *buf, size_t cap);

#endif
