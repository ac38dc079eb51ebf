"""Builds pyflare's in-process deterministic profiler (module/tracer.c plus
the profile model and writers it fills) as pyflare._tracer, with the pyflare
package from module/pyflare. `make` builds the same thing for every local
interpreter into build/module/<version>/; this is for `pip install .`.
Offline (no index to fetch setuptools from): pip install --no-build-isolation ."""
import glob
import os
import subprocess

from setuptools import Extension, setup

# The writers' script, style and markup (src/output/assets/) as C strings, as the Makefile makes them.
if not os.path.isdir("build/gen"):
    os.makedirs("build/gen")
subprocess.check_call(["sh", "tools/embed.sh", "build/gen/assets.c"] + sorted(glob.glob("src/output/assets/*")))

SOURCES = ["module/tracer.c"] + sorted(glob.glob("src/profile/*.c") + glob.glob("src/input/*.c") +
                                       glob.glob("src/output/*.c") + glob.glob("src/base/*.c")) + ["build/gen/assets.c"]

setup(
    name="pyflare",
    version="0.1.0",
    description="Deterministic in-process Python profiler writing callgrind, pstats, flame graphs and more",
    packages=["pyflare"],
    package_dir={"pyflare": "module/pyflare"},
    ext_modules=[
        Extension(
            "pyflare._tracer",
            sources=SOURCES,
            include_dirs=["src"],
            extra_compile_args=["-std=c11", "-D_GNU_SOURCE", "-fvisibility=hidden"],
            libraries=["z"],  # the pprof writer gzips
        )
    ],
    python_requires=">=2.7",
)
