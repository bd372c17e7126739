"""curate: turn raw preference data into clean, DPO-ready datasets.

The library API (the CLI only parses flags for it):

    import curate

    recipe = curate.load_recipe("my.yaml", {"split.test_size": 0.05})  # or None: the shipped recipe
    report = curate.build(recipe, "curated")  # writes the folder; returns its report.json as a `Report`
    report.rows_kept, report.dropped, report.splits
    audit = curate.check("curated", "teknium/OpenHermes-2.5-Mistral-7B")  # a `CheckReport`; needs '.[train]'
    audit.ok, audit.findings
    curate.evaluate("trained", "eval", task_names=["gsm8k"], baseline="base")  # `curate eval`: accuracy before/after

Errors are `curate.errors.CurateError`s (a message and a hint). The names below are imported on first use,
so `import curate` (and `curate --help`) stays light.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"

# Public name -> the module that defines it. A public function must not share its name with a submodule:
# importing curate/build.py would replace the function `curate.build` with the module, hence curate/builder.py
# and curate/checker.py.
_EXPORTS = {
    "build": "curate.builder",
    "check": "curate.checker",
    "evaluate": "curate.evaluation",
    "CheckReport": "curate.checker",
    "load_recipe": "curate.config",
    "Recipe": "curate.config",
    "Report": "curate.report",
    "verify_build": "curate.output",
}
__all__ = ["__version__", *_EXPORTS]


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'curate' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(_EXPORTS[name]), name)
    globals()[name] = value  # looked up once
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_EXPORTS})
