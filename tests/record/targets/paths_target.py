"""Path-shortening target for tests/record/run.py (Python 2.7 and 3.x).

The runner copies this file to TMP/app/target.py and paths_mod.py to
TMP/site-packages/pkg/mod.py, then runs target.py. It puts the sibling
site-packages directory on sys.path, imports pkg.mod and spins in it.

    python target.py READY_PATH LIFETIME

It spins for LIFETIME seconds (0: until killed), then exits with status 0.
"""
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "site-packages"))

from pkg import mod


def main():
    if sys.argv[1] != "-":
        tmp = sys.argv[1] + ".tmp"
        with open(tmp, "w") as f:
            json.dump({"pid": os.getpid(), "mod_file": mod.__file__}, f)
        os.rename(tmp, sys.argv[1])
    mod.spin(float(sys.argv[2]))  # CALL


main()  # MAIN
