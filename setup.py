"""The C loops are optional: where they do not compile (no compiler, MSVC without a C11 mode, a slim container),
pip still installs curate, which then runs its pure numpy/polars path (curate/native.py picks one at import)."""

import sys

from setuptools import Extension, setup

# GCC and clang take -O3; MSVC spells it /O2 and would only warn about -O3.
FLAGS = ["/O2"] if sys.platform == "win32" else ["-O3"]

setup(
    ext_modules=[
        Extension(name, sources=[f"curate/{name.split('.')[1]}.c"], extra_compile_args=FLAGS, optional=True)
        for name in ("curate._text", "curate._minhash")
    ]
)
