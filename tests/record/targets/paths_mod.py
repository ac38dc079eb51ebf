"""Copied to site-packages/pkg/mod.py by tests/record/run.py (see paths_target.py)."""
import time

wall = getattr(time, "monotonic", time.time)


def spin(lifetime):
    end = wall() + lifetime  # SPIN
    while lifetime <= 0 or wall() < end:  # SPIN
        pass  # SPIN
