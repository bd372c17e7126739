"""The program a Hugging Face Job runs (`python -c PROGRAM SPEC`), where curate is not installed.

run.py imports `curate.tokens`; the program ships that module's source with run.py's. It registers
tokens.py as the module `curate.tokens` (Python finds a module already in sys.modules without importing its
package), then runs run.py as `__main__`, each source compiled on its own so that each keeps its
`from __future__` line and its file name in tracebacks.
"""

from __future__ import annotations

from pathlib import Path

import curate.tokens
from curate.train import run

SHIPPED_MODULES = {"curate.tokens": curate.tokens}  # what run.py imports from curate
PROGRAM = '''\
"""curate's DPO training job: curate/tokens.py and curate/train/run.py, shipped as source."""
import sys
import types


def _load(name, filename, source):
    module = types.ModuleType(name)
    module.__file__ = filename
    sys.modules[name] = module  # before it runs: dataclasses look their module up there
    exec(compile(source, filename, "exec", dont_inherit=True), module.__dict__)


for _name, _filename, _source in {modules!r}:
    _load(_name, _filename, _source)
_load("__main__", {run_file!r}, {run_source!r})
'''


def job_program() -> str:
    """run.py with the curate modules it imports, as one `python -c` program (its argv: the spec)."""
    modules = [(name, _file_name(name), _source(module)) for name, module in SHIPPED_MODULES.items()]
    return PROGRAM.format(modules=modules, run_file=_file_name(run.__name__), run_source=_source(run))


def _source(module) -> str:
    return Path(module.__file__).read_text(encoding="utf-8")


def _file_name(module_name: str) -> str:
    """curate/tokens.py for curate.tokens: the job has no such file, but tracebacks name it."""
    return module_name.replace(".", "/") + ".py"
