"""Where a checked training run happens: one small interface, one registry.

A backend is one module in this package that registers an instance of a `Backend` subclass; the registry
finds the modules itself, so a new backend (SLURM, SkyPilot) is one file here plus its tests. The recipe's
`backend` choices, `curate train --help` and the preflight read the registry; none of them names a backend.

This package imports nothing heavy (no pydantic, torch or huggingface_hub at module level): `curate --help`
lists the names.
"""

from __future__ import annotations

import importlib
import pkgutil
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    from curate.train.config import TrainRecipe


@dataclass(frozen=True)
class Needs:
    """What the preflight must find before this backend may start."""

    cuda_device: bool  # a CUDA device on this machine (recipes with device: cuda; skipped by dry runs)
    hub_inputs: bool  # model and data on the Hub: the run happens where this machine's folders are not


@dataclass
class Launched:
    """What a backend reports once its run finished (or started elsewhere); cli_flow renders it."""

    message: str  # rich markup: where the results are
    metrics: dict[str, float] | None = None  # the final evaluation of a run that finished here
    url: str | None = None  # printed bare on stdout, so a script can capture it

    @classmethod
    def trained_here(cls, output_dir: str, metrics: dict[str, float]) -> Launched:
        from rich.markup import escape

        return cls(f"Wrote [bold]{escape(output_dir)}[/bold] (model, tokenizer, metrics.jsonl, README.md)", metrics)


class Backend(ABC):
    """One way to run `run.py` with a spec. Subclasses set the class attributes and write `plan` and `launch`."""

    name: ClassVar[str]  # the recipe's `backend` value
    where: ClassVar[str]  # the place the run happens, for messages: "this machine", "a Hugging Face Job"
    needs: ClassVar[Needs]

    def runner(self, recipe: TrainRecipe) -> Backend:
        """The backend that runs this recipe: itself, unless it hands the run on (local -> accelerate)."""
        return self

    def validate(self, recipe: TrainRecipe) -> None:  # noqa: B027  optional: local has no checks of its own
        """Raise ConfigError for settings this backend cannot run (after the recipe model validated)."""

    def packages(self, recipe: TrainRecipe) -> list[str]:
        """Packages beyond the train extra that the launching machine needs."""
        return []

    def pushes_to(self, recipe: TrainRecipe) -> str | None:
        """The Hub repo run.py pushes the result to when training ends (None: the results stay on disk)."""
        return None

    @abstractmethod
    def plan(self, recipe: TrainRecipe, spec: dict[str, Any]) -> str:
        """What --dry-run prints under "Would run": the exact command or job spec; starts nothing."""

    @abstractmethod
    def launch(self, recipe: TrainRecipe, spec: dict[str, Any], token: str | None, console: Any = None) -> Launched:
        """Run (or submit) the spec. `console`: a rich console for progress, when there is one."""


BACKENDS: dict[str, Backend] = {}  # by name, in registration order


def register(backend: Backend) -> Backend:
    """Called once by each backend module (and by tests that add one)."""
    if backend.name in BACKENDS:
        raise ValueError(f"train backend {backend.name!r} is registered twice")
    BACKENDS[backend.name] = backend
    return backend


def names() -> list[str]:
    return list(BACKENDS)


def get(name: str) -> Backend:
    """The backend called `name`; ValueError naming the choices otherwise (pydantic reports it per field)."""
    if name not in BACKENDS:
        raise ValueError(f"expected one of {', '.join(names())}, found {name!r}")
    return BACKENDS[name]


def for_recipe(recipe: TrainRecipe) -> Backend:
    """The backend that runs `recipe` (its `backend`, or the one that backend hands the run on to)."""
    return get(recipe.backend).runner(recipe)


def _register_modules() -> None:
    """Import every module of this package: each registers its backend. Sorted, so the names' order is stable."""
    for module in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        importlib.import_module(f"{__name__}.{module.name}")


_register_modules()
