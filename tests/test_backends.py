"""Train backends: one interface, one registry. Each registered backend's plan, the recipe's choices held to the
registry, and a backend defined in a test picked up by the whole `curate train` flow (one file extends it)."""

from __future__ import annotations

import json
import sys
from typing import Any, ClassVar

import pytest
from typer.testing import CliRunner

from curate.cli import app
from curate.errors import ConfigError
from curate.train import backends
from curate.train.backends import Backend, Launched, Needs, for_recipe
from curate.train.backends.accelerate import ACCELERATE_CONFIGS
from curate.train.config import TrainRecipe, load_train_recipe
from curate.train.launch import RUN_SCRIPT, build_spec
from curate.train.preflight import PreflightReport

runner = CliRunner()
CHECKED = PreflightReport({"kind": "hub", "path": "alice/math-dpo", "revision": "0" * 40}, {"train": 8}, 512, 300)


def plan_of(**overrides: Any) -> str:
    recipe = load_train_recipe(overrides={"output_dir": "out", **overrides})
    return for_recipe(recipe).plan(recipe, build_spec(recipe, CHECKED))


def local_plan() -> None:
    expected = f"{sys.executable} {RUN_SCRIPT} out/curate_train_spec.json  (curate writes the spec and runs it"
    assert plan_of(backend="local").startswith(expected)


def accelerate_plan() -> None:
    launcher = f"{sys.executable} -m accelerate.commands.launch --config_file {ACCELERATE_CONFIGS}/fsdp.yaml"
    expected = f"{launcher} --num_processes 1 --num_machines 1 --machine_rank 0 {RUN_SCRIPT} out/curate_train_spec.json"
    assert plan_of(backend="accelerate", distributed="fsdp") == expected  # one process under accelerate: allowed


def hf_jobs_plan() -> None:
    job = json.loads(plan_of(backend="hf-jobs", **{"hf_jobs.push_to": "alice/tiny-dpo", "hf_jobs.timeout": "2h"}))
    assert job["flavor"] == "a100-large" and job["timeout"] == "2h"
    assert job["secrets"] == {"HF_TOKEN": "<from HF_TOKEN / hf auth login>"}
    command = job["command"]
    assert command[:2] == ["uv", "run"] and command[command.index("-c") + 1].startswith("<job program")
    spec = json.loads(command[-1])
    assert spec["data"] == CHECKED.data and spec["push_to"] == "alice/tiny-dpo"


PLANS = {"local": local_plan, "accelerate": accelerate_plan, "hf-jobs": hf_jobs_plan}


def test_every_registered_backend_has_a_plan_test():
    assert sorted(PLANS) == sorted(backends.names())


@pytest.mark.parametrize("name", sorted(PLANS))
def test_each_backend_plans_a_recipe(name):
    PLANS[name]()


def test_the_recipe_accepts_exactly_the_registered_backends():
    for name in backends.names():
        assert TrainRecipe(backend=name).backend == name
    with pytest.raises(ConfigError, match="backend: expected one of accelerate, hf-jobs, local, found 'slurm'"):
        load_train_recipe(overrides={"backend": "slurm"})
    assert " | ".join(backends.names()) in TrainRecipe.model_fields["backend"].description


def test_train_help_lists_the_registered_backends():
    shown = " ".join(runner.invoke(app, ["train", "--help"]).output.replace("│", " ").split())
    assert "--backend <str> " + " | ".join(backends.names()) in shown


def test_local_hands_several_processes_to_accelerate():
    assert for_recipe(TrainRecipe()).name == "local"
    assert for_recipe(TrainRecipe(gpus=8)).name == "accelerate"
    assert for_recipe(TrainRecipe(gpus=8, backend="hf-jobs")).name == "hf-jobs"  # the job runs one process
    nodes = plan_of(gpus=4, num_machines=2, main_ip="10.0.0.1")
    assert "--num_processes 8 --num_machines 2 --machine_rank 0 --main_process_ip 10.0.0.1" in nodes


def test_backend_checks_and_packages():
    assert for_recipe(TrainRecipe(gpus=8)).packages(TrainRecipe(gpus=8)) == ["deepspeed"]  # zero3's launcher
    assert for_recipe(TrainRecipe()).packages(TrainRecipe()) == []
    with pytest.raises(ConfigError, match="--push-to"):
        load_train_recipe(overrides={"backend": "hf-jobs"})
    with pytest.raises(ConfigError, match="--device cpu runs in this process"):
        load_train_recipe(overrides={"backend": "accelerate", "device": "cpu"})
    with pytest.raises(ConfigError, match="qlora runs on one GPU"):
        load_train_recipe(overrides={"backend": "accelerate", "method": "qlora"})


@pytest.mark.parametrize("argument", ["model", "data"])
def test_a_backend_that_runs_elsewhere_refuses_local_folders(tmp_path, argument):
    folder = tmp_path / "here"
    folder.mkdir()
    args = {"data": "alice/math-dpo", "model": "alice/tiny", argument: str(folder)}
    result = runner.invoke(
        app, ["train", args["data"], "--model", args["model"], "--backend", "hf-jobs", "--push-to", "a/b"]
    )
    what = "load models" if argument == "model" else "read data"
    assert result.exit_code == 3, result.output
    assert f"{folder} is a local folder; a Hugging Face Job can only {what} from the Hub" in result.stderr


class Cluster(Backend):
    """A batch-queue backend as a new module would write it: its own check, needs, plan and launch."""

    name = "cluster"
    where = "a cluster node"
    needs = Needs(cuda_device=False, hub_inputs=False)
    launched: ClassVar[list[dict]] = []

    def validate(self, recipe: TrainRecipe) -> None:
        if recipe.gpus > 4:
            raise ConfigError("the cluster's nodes have 4 GPUs")

    def plan(self, recipe: TrainRecipe, spec: dict[str, Any]) -> str:
        return f"sbatch --gpus {recipe.gpus} run.py  # max_length {spec['max_length']}"

    def launch(self, recipe: TrainRecipe, spec: dict[str, Any], token: str | None, console: Any = None) -> Launched:
        self.launched.append(spec)
        return Launched("Queued job [bold]42[/bold]", url="https://cluster.example/jobs/42")


@pytest.fixture
def cluster(monkeypatch) -> Cluster:
    backend = Cluster()
    monkeypatch.setitem(backends.BACKENDS, backend.name, backend)  # what `register` does, undone after the test
    backend.launched.clear()
    return backend


def test_a_backend_registered_in_a_test_is_picked_up_by_the_flow(cluster, tiny, curated, tmp_path):
    pytest.importorskip("trl", reason="the preflight needs the train extra: pip install -e '.[train]'")
    args = ["train", str(curated), "--model", str(tiny), "-o", str(tmp_path / "o"), "--max-length", "4096"]
    too_big = runner.invoke(app, [*args, "--backend", "cluster", "--gpus", "8"])
    assert too_big.exit_code == 2 and "the cluster's nodes have 4 GPUs" in too_big.stderr
    planned = runner.invoke(app, [*args, "--backend", "cluster", "--gpus", "2", "--dry-run"])
    assert planned.exit_code == 0, planned.output
    assert "backend: cluster" in planned.stdout and "sbatch --gpus 2 run.py  # max_length 4096" in planned.stdout
    assert not cluster.launched
    ran = runner.invoke(app, [*args, "--backend", "cluster"])  # no CUDA check: the cluster's needs say so
    assert ran.exit_code == 0, ran.output
    assert "Queued job 42" in ran.stdout and ran.stdout.endswith("https://cluster.example/jobs/42\n")
    assert [spec["recipe"]["backend"] for spec in cluster.launched] == ["cluster"]
