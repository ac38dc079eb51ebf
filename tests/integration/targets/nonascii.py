# -*- coding: utf-8 -*-
"""Integration target "nonascii": non-ASCII function names, thread names and
file name (Python 3 only; on 2.7 it reports a skip).

The parked functions live in the module file "ünïcödé_名前.py" next to this
one, imported by name. See common.py for the truth protocol.
"""
import importlib
import sys

import common

MODULE = u"\u00fcn\u00efc\u00f6d\u00e9_\u540d\u524d"  # ünïcödé_名前


def main(argv):
    if sys.version_info[0] < 3:
        common.skip("non-ASCII identifiers need Python 3")
    mod = importlib.import_module(MODULE)
    threads = [
        common.start_thread(u"arbeiter-\u00fc", getattr(mod, u"gr\u00fc\u00df_dich")),
        common.start_thread(u"\u30b9\u30ec\u30c3\u30c9", getattr(mod, u"\u65e5\u672c")),
        common.start_thread(u"klasse", getattr(getattr(mod, u"\u00dcbung")(), u"l\u00e4uft")),
    ]
    common.report_and_park(argv[1], threads)


if __name__ == "__main__":
    common.run(main)
