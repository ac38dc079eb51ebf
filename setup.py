"""Builds pyflare's in-process deterministic profiler (module/*.c: tracer.c, load.c, write.c, plus
the profile model, report layer and writers it fills) as pyflare._tracer, with the pyflare
package from module/pyflare. `make` builds the same thing for every local
interpreter into build/module/<version>/; this is for `pip install .`.
Offline (no index to fetch setuptools from): pip install --no-build-isolation ."""
import glob
import os
import subprocess

from setuptools import Extension, setup

# The writers' script and style files become C strings at build time (tools/embed.sh), as in `make`.
ASSETS_C = "build/gen/assets.c"
if not os.path.isdir(os.path.dirname(ASSETS_C)):
    os.makedirs(os.path.dirname(ASSETS_C))
subprocess.check_call(["sh", "tools/embed.sh", ASSETS_C] + sorted(glob.glob("src/output/assets/*")))
SOURCES = sorted(glob.glob("module/*.c")) + sorted(glob.glob("src/profile/*.c") + glob.glob("src/input/*.c") + glob.glob("src/report/*.c") +
                                       glob.glob("src/output/*.c") + glob.glob("src/base/*.c")) + ["src/cli/options.c", ASSETS_C]

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
