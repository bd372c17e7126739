"""One process in this interpreter (rich progress shows); several GPUs or machines go to `accelerate launch`."""

from __future__ import annotations

import shlex
import sys
from typing import TYPE_CHECKING, Any

from curate.train.backends import Backend, Launched, Needs, get, register
from curate.train.launch import RUN_SCRIPT, spec_location, write_spec

if TYPE_CHECKING:
    from curate.train.config import TrainRecipe


class Local(Backend):
    name = "local"
    where = "this machine"
    needs = Needs(cuda_device=True, hub_inputs=False)

    def runner(self, recipe: TrainRecipe) -> Backend:
        # One process cannot drive several GPUs; `--gpus 8` on this machine has always meant accelerate.
        return get("accelerate") if recipe.gpus * recipe.num_machines > 1 else self

    def plan(self, recipe: TrainRecipe, spec: dict[str, Any]) -> str:
        command = shlex.join([sys.executable, str(RUN_SCRIPT), spec_location(recipe)])
        return command + "  (curate writes the spec and runs it in-process)"

    def launch(self, recipe: TrainRecipe, spec: dict[str, Any], token: str | None, console: Any = None) -> Launched:
        from curate.train.run import train

        write_spec(spec)  # kept beside the results: `python run.py SPEC` repeats the run
        progress = None
        if console is not None:
            from curate.train.progress import rich_progress

            progress = rich_progress(console)
        return Launched.trained_here(recipe.output_dir, train(spec, progress))


register(Local())
