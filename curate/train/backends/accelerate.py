"""All GPUs of this machine (or of several machines) through `accelerate launch`, with a shipped config."""

from __future__ import annotations

import shlex
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from curate.errors import ConfigError, CurateError
from curate.train.backends import Backend, Launched, Needs, register
from curate.train.launch import RUN_SCRIPT, spec_location, write_spec

if TYPE_CHECKING:
    from curate.train.config import TrainRecipe

ACCELERATE_CONFIGS = Path(__file__).resolve().parent.parent / "accelerate"  # one YAML per `distributed` value


class Accelerate(Backend):
    name = "accelerate"
    where = "this machine"
    needs = Needs(cuda_device=True, hub_inputs=False)

    def validate(self, recipe: TrainRecipe) -> None:
        # `--backend accelerate --gpus 1` is allowed on purpose: one process under the multi-GPU launcher
        # (the GPU smoke run tests that path on one card).
        if recipe.device == "cpu":
            raise ConfigError("--backend accelerate starts GPU processes; --device cpu runs in this process")
        if recipe.method == "qlora":
            raise ConfigError("qlora runs on one GPU in this process; use --backend local")

    def packages(self, recipe: TrainRecipe) -> list[str]:
        return ["deepspeed"] if recipe.distributed == "zero3" else []

    def plan(self, recipe: TrainRecipe, spec: dict[str, Any]) -> str:
        return shlex.join(accelerate_command(recipe, spec_location(recipe)))

    def launch(self, recipe: TrainRecipe, spec: dict[str, Any], token: str | None, console: Any = None) -> Launched:
        # The processes log on their own; a progress bar here would interleave with theirs.
        done = subprocess.run(accelerate_command(recipe, write_spec(spec)), check=False)
        if done.returncode != 0:
            raise CurateError(f"accelerate launch exited with {done.returncode}", hint="See the training log above.")
        return Launched.trained_here(recipe.output_dir, {})


def accelerate_command(recipe: TrainRecipe, spec_path: str | Path) -> list[str]:
    command = [
        sys.executable, "-m", "accelerate.commands.launch",  # this environment's accelerate, not one on PATH
        "--config_file", str(ACCELERATE_CONFIGS / f"{recipe.distributed}.yaml"),
        "--num_processes", str(recipe.gpus * recipe.num_machines),
        "--num_machines", str(recipe.num_machines),
        "--machine_rank", str(recipe.machine_rank),
    ]  # fmt: skip
    if recipe.num_machines > 1:
        command += ["--main_process_ip", str(recipe.main_ip), "--main_process_port", str(recipe.main_port)]
    return [*command, str(RUN_SCRIPT), str(spec_path)]


register(Accelerate())
