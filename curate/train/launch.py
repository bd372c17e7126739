"""How a checked run starts: in this process, through `accelerate launch`, or as a Hugging Face Job."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from curate import __version__
from curate.errors import CurateError
from curate.hub_errors import hub_errors
from curate.train.config import TrainRecipe
from curate.train.preflight import PreflightReport

RUN_SCRIPT = Path(__file__).resolve().parent / "run.py"
ACCELERATE_CONFIGS = Path(__file__).resolve().parent / "accelerate"
SPEC_FILE = "curate_train_spec.json"
UV_IMAGE = "ghcr.io/astral-sh/uv:python3.12-bookworm"  # huggingface_hub's image for uv jobs


def build_spec(recipe: TrainRecipe, checked: PreflightReport) -> dict[str, Any]:
    """Everything run.py needs, as JSON: it imports no curate code."""
    return {
        "curate_version": __version__,
        "recipe": recipe.dump(),
        "data": checked.data,
        "max_length": checked.max_length,
    }


def accelerate_command(recipe: TrainRecipe, spec_path: Path) -> list[str]:
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


def write_spec(spec: dict[str, Any]) -> Path:
    folder = Path(spec["recipe"]["output_dir"])
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / SPEC_FILE
    path.write_text(json.dumps(spec, indent=2) + "\n", encoding="utf-8")
    return path


def run_local(spec: dict[str, Any], progress: Any = None) -> dict[str, float]:
    """One process here, in this interpreter (rich progress shows), or all GPUs through accelerate."""
    recipe = TrainRecipe.model_validate(spec["recipe"])
    spec_path = write_spec(spec)  # kept beside the results: `python run.py SPEC` repeats the run
    if not recipe.launches_accelerate:
        from curate.train.run import train

        return train(spec, progress)
    done = subprocess.run(accelerate_command(recipe, spec_path), check=False)
    if done.returncode != 0:
        raise CurateError(f"accelerate launch exited with {done.returncode}", hint="See the training log above.")
    return {}


def job_request(recipe: TrainRecipe, spec: dict[str, Any], token: str) -> dict[str, Any]:
    """Arguments of HfApi.run_job: `uv run` executes run.py's source with pinned training packages; the
    token travels as a job secret, never in the command or the environment.

    run_job, not run_uv_job: run_uv_job stats every argument as a possible local file, and run.py's
    source and the spec are longer than a file name may be."""
    with_packages = [arg for dependency in job_dependencies(recipe) for arg in ("--with", dependency)]
    code = RUN_SCRIPT.read_text(encoding="utf-8")
    return {
        "image": UV_IMAGE,
        "command": ["uv", "run", *with_packages, "python", "-c", code, json.dumps(spec)],
        "flavor": recipe.hf_jobs.flavor,
        "timeout": recipe.hf_jobs.timeout,
        "secrets": {"HF_TOKEN": token},
        "labels": {"curate": __version__},
        "namespace": recipe.hf_jobs.namespace,
    }


def job_dependencies(recipe: TrainRecipe) -> list[str]:
    """The versions this machine's preflight ran with, so the job trains with the same stack."""
    from importlib.metadata import version

    names = ["trl", "transformers", "peft", "accelerate", "datasets", "huggingface_hub"]
    pinned = [f"{name}=={version(name)}" for name in names]
    return pinned + (["bitsandbytes"] if recipe.method == "qlora" else [])


def submit_job(request: dict[str, Any]) -> tuple[str, str]:
    """Start the job; return its id and URL."""
    from huggingface_hub import HfApi

    token = request["secrets"]["HF_TOKEN"]
    with hub_errors("Hugging Face Jobs", token=token, failed="the job was not started: ", writing=True):
        job = HfApi(token=token).run_job(**request)
    return job.id, job.url


def printable_request(request: dict[str, Any]) -> dict[str, Any]:
    """The job spec as --dry-run shows it: the secret's name, not its value; run.py's source abbreviated."""
    command = list(request["command"])
    code_at = command.index("-c") + 1
    command[code_at] = f"<source of {RUN_SCRIPT.name}, {len(command[code_at]):,} characters>"
    return {
        **request,
        "command": command,
        "secrets": {name: "<from HF_TOKEN / hf auth login>" for name in request["secrets"]},
    }
