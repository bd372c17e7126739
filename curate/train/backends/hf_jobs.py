"""A Hugging Face Job: `uv run` executes the job program with pinned training packages on Hub hardware."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from curate import __version__
from curate.errors import ConfigError
from curate.train.backends import Backend, Launched, Needs, register

if TYPE_CHECKING:
    from curate.train.config import TrainRecipe

UV_IMAGE = "ghcr.io/astral-sh/uv:python3.12-bookworm"  # huggingface_hub's image for uv jobs


class HfJobs(Backend):
    name = "hf-jobs"
    where = "a Hugging Face Job"
    needs = Needs(cuda_device=False, hub_inputs=True)

    def validate(self, recipe: TrainRecipe) -> None:
        if not recipe.hf_jobs.push_to:
            raise ConfigError(
                "a Hugging Face Job's disk is gone when it ends: pass --push-to user/model-name",
                hint="The job pushes the adapter (or weights), metrics and model card there (a private repo).",
            )

    def pushes_to(self, recipe: TrainRecipe) -> str | None:
        return recipe.hf_jobs.push_to

    def plan(self, recipe: TrainRecipe, spec: dict[str, Any]) -> str:
        return json.dumps(printable_request(job_request(recipe, spec, "<dry run>")), indent=2)

    def launch(self, recipe: TrainRecipe, spec: dict[str, Any], token: str | None, console: Any = None) -> Launched:
        from rich.markup import escape

        from curate.hub_auth import resolve_token

        job_id, url = submit_job(job_request(recipe, spec, resolve_token(token)))
        message = f"Started Hugging Face Job [bold]{job_id}[/bold]; results go to {escape(recipe.hf_jobs.push_to)}"
        return Launched(message, url=url)


def job_request(recipe: TrainRecipe, spec: dict[str, Any], token: str) -> dict[str, Any]:
    """Arguments of HfApi.run_job: `uv run` executes the job program with pinned training packages; the
    token travels as a job secret, never in the command or the environment.

    run_job, not run_uv_job: run_uv_job stats every argument as a possible local file, and the program
    and the spec are longer than a file name may be."""
    from curate.train.job_script import job_program

    with_packages = [arg for dependency in job_dependencies(recipe) for arg in ("--with", dependency)]
    code = job_program()  # run.py with the curate modules it imports, as source
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

    from curate.hub_errors import hub_errors

    token = request["secrets"]["HF_TOKEN"]
    with hub_errors("Hugging Face Jobs", token=token, failed="the job was not started: ", writing=True):
        job = HfApi(token=token).run_job(**request)
    return job.id, job.url


def printable_request(request: dict[str, Any]) -> dict[str, Any]:
    """The job spec as --dry-run shows it: the secret's name, not its value; the program abbreviated."""
    command = list(request["command"])
    code_at = command.index("-c") + 1
    command[code_at] = f"<job program: run.py and the curate modules it imports, {len(command[code_at]):,} characters>"
    return {
        **request,
        "command": command,
        "secrets": {name: "<from HF_TOKEN / hf auth login>" for name in request["secrets"]},
    }


register(HfJobs())
