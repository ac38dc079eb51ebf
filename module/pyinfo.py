# pyinfo.py - prints "tag|include dir|extension suffix|python" for the
# interpreter running it, or nothing when it has no headers to build against.
# module.mk runs it with every interpreter; `pyflare trace` asks the same tag.
# Python 2.7 and 3.x.
import os
import sys
import sysconfig

inc = sysconfig.get_paths()["include"]
suffix = sysconfig.get_config_var("EXT_SUFFIX") or sysconfig.get_config_var("SO")
# The version names the build directory; ABI flags other than the historical
# 'm' (pymalloc) tell debug and free-threaded builds apart.
tag = "%d.%d.%d" % sys.version_info[:3] + getattr(sys, "abiflags", "").replace("m", "")
root = sys.argv[1].rstrip("/") if len(sys.argv) > 1 else ""
if os.path.exists(os.path.join(inc, "Python.h")) and " " not in root + inc + sys.executable:
    sys.stdout.write("%s|%s|%s|%s\n" % (tag, root + inc, suffix, root + sys.executable))
