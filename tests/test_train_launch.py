"""`curate train` before any GPU time: preflight errors, dry runs, accelerate configs, the HF Jobs spec."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest
from conftest import SAMPLE
from fakehub import FakeHub
from tiny_model import corpus
from typer.testing import CliRunner

from curate.cli import app
from curate.train.backends.accelerate import ACCELERATE_CONFIGS
from curate.train.launch import RUN_SCRIPT

pytest.importorskip("trl", reason="training tests need the train extra: pip install -e '.[train]'")
runner = CliRunner()
TOKEN = "hf_jobs_token_abcdef0123456789"


def invoke(*args: str):
    return runner.invoke(app, ["train", *args])


def test_no_cuda_device_fails_fast(tiny, curated, monkeypatch):
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)  # the same on a machine with a GPU
    result = invoke(str(curated), "--model", str(tiny))
    assert result.exit_code == 8
    assert "Error: no CUDA device" in result.stderr and "--device cpu" in result.stderr


def test_data_that_is_not_a_preference_dataset(tiny, tmp_path):
    (tmp_path / "data").mkdir()
    pl.DataFrame({"text": ["hello"]}).write_parquet(tmp_path / "data" / "train-00000-of-00001.parquet")
    result = invoke(str(tmp_path), "--model", str(tiny), "--device", "cpu")
    assert result.exit_code == 3
    assert "is not a preference dataset: missing ['prompt', 'chosen', 'rejected']" in result.stderr


def test_tokenizer_without_chatml_tokens(curated, tmp_path):
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    core = Tokenizer(models.BPE())
    core.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    core.train_from_iterator(corpus(SAMPLE)[:300], trainers.BpeTrainer(vocab_size=300, special_tokens=["</s>"]))
    plain = PreTrainedTokenizerFast(tokenizer_object=core, eos_token="</s>")
    plain.save_pretrained(tmp_path / "plain")
    result = invoke(str(curated), "--model", str(tmp_path / "plain"), "--device", "cpu")
    assert result.exit_code == 3
    assert "lacks the ChatML token(s) ['<|im_start|>', '<|im_end|>']" in result.stderr


def test_rows_over_max_length_stop_the_run_with_a_count(tiny, curated):
    result = invoke(str(curated), "--model", str(tiny), "--device", "cpu", "--max-length", "300")
    assert result.exit_code == 3
    assert "are longer than max_length 300 tokens" in result.stderr and "--drop-long" in result.stderr


def test_missing_training_packages_name_the_extra(tiny, curated, monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "trl" else real(name, *a))
    result = invoke(str(curated), "--model", str(tiny), "--device", "cpu")
    assert result.exit_code == 7
    assert "training packages not installed: trl" in result.stderr and "pip install 'curate[train]'" in result.stderr


def test_dry_run_prints_config_and_command_and_starts_nothing(tiny, curated, tmp_path):
    out = tmp_path / "never"
    result = invoke(str(curated), "--model", str(tiny), "-o", str(out), "--dry-run", "--max-length", "4096")
    assert result.exit_code == 0, result.output
    assert f"model: {tiny}" in result.stdout and "method: lora" in result.stdout
    assert f"{RUN_SCRIPT} {out}/curate_train_spec.json" in result.stdout
    assert not out.exists()


def test_multi_gpu_dry_run_uses_accelerate_with_the_shipped_config(tiny, curated, tmp_path):
    args = ["--model", str(tiny), "-o", str(tmp_path / "o"), "--dry-run", "--max-length", "4096", "--method", "full"]
    zero3 = invoke(str(curated), *args, "--gpus", "8")
    assert zero3.exit_code == 0, zero3.output
    launcher = f"{sys.executable} -m accelerate.commands.launch"
    assert f"{launcher} --config_file {ACCELERATE_CONFIGS}/zero3.yaml --num_processes 8" in zero3.stdout
    nodes = invoke(str(curated), *args, "--gpus", "8", "--num-machines", "2", "--machine-rank", "1",
                   "--main-ip", "10.0.0.1", "--distributed", "fsdp")  # fmt: skip
    assert nodes.exit_code == 0, nodes.output
    expected = (
        f"--config_file {ACCELERATE_CONFIGS}/fsdp.yaml --num_processes 16 --num_machines 2 --machine_rank 1 "
        "--main_process_ip 10.0.0.1 --main_process_port 29500"
    )
    assert expected in nodes.stdout
    no_ip = invoke(str(curated), *args, "--num-machines", "2")
    assert no_ip.exit_code == 2 and "--main-ip" in no_ip.stderr


@pytest.mark.parametrize(("name", "kind"), [("zero3", "DEEPSPEED"), ("fsdp", "FSDP")])
def test_accelerate_configs_load(name, kind):
    from accelerate.commands.config.config_args import ClusterConfig

    config = ClusterConfig.from_yaml_file(ACCELERATE_CONFIGS / f"{name}.yaml")
    assert config.distributed_type.value == kind and config.mixed_precision == "bf16"
    if name == "zero3":
        assert config.deepspeed_config["zero_stage"] == 3


def _hub_with_data_and_model(hub: FakeHub, curated: Path, tiny: Path) -> None:
    files = {p.relative_to(curated).as_posix(): p.read_bytes() for p in curated.rglob("*") if p.is_file()}
    hub.add_dataset_commit("alice/math-dpo", files)
    hub.add_model_repo("alice/tiny")
    repo = hub.repos[("model", "alice/tiny")]
    model_files = {p.relative_to(tiny).as_posix(): p.read_bytes() for p in tiny.rglob("*") if p.is_file()}
    repo.commit(model_files, (), "main", "tiny model")


def test_hf_jobs_spec_against_the_fake_jobs_endpoint(tiny, curated, tmp_path):
    from curate.train.job_script import job_program

    with FakeHub(tokens={TOKEN: "alice"}) as hub:
        _hub_with_data_and_model(hub, curated, tiny)
        env = hub.client_env(tmp_path / "home") | {"HF_TOKEN": TOKEN}
        args = ["train", "alice/math-dpo", "--model", "alice/tiny", "--backend", "hf-jobs", "--max-length", "4096",
                "--push-to", "alice/tiny-dpo", "--flavor", "a100-large", "--timeout", "2h"]  # fmt: skip
        done = subprocess.run(
            [sys.executable, "-m", "curate", *args], env=env, capture_output=True, text=True, timeout=180
        )
        assert done.returncode == 0, done.stderr
        assert len(hub.jobs) == 1
        job = hub.jobs[0]
        spec = job["spec"]
        assert job["namespace"] == "alice" and spec["flavor"] == "a100-large" and spec["timeoutSeconds"] == 7200
        assert spec["secrets"] == {"HF_TOKEN": TOKEN}  # sent as a secret ...
        assert TOKEN not in json.dumps(spec["command"]) + json.dumps(spec.get("environment"))  # ... and nowhere else
        command = spec["command"]
        assert command[:2] == ["uv", "run"] and "--with" in command and "python" in command
        assert command[command.index("-c") + 1] == job_program()
        run_spec = json.loads(command[-1])
        assert run_spec["data"] == {"kind": "hub", "path": "alice/math-dpo", "revision": hub.head("alice/math-dpo")}
        assert run_spec["recipe"]["hf_jobs"]["push_to"] == run_spec["push_to"] == "alice/tiny-dpo"
        assert done.stdout.strip().endswith(f"/jobs/alice/{job['id']}")
        assert TOKEN not in done.stdout + done.stderr


def test_hf_jobs_dry_run_shows_the_spec_without_the_token(tiny, curated, tmp_path):
    with FakeHub(tokens={TOKEN: "alice"}) as hub:
        _hub_with_data_and_model(hub, curated, tiny)
        env = hub.client_env(tmp_path / "home") | {"HF_TOKEN": TOKEN}
        args = ["train", "alice/math-dpo", "--model", "alice/tiny", "--backend", "hf-jobs", "--max-length", "4096",
                "--push-to", "alice/tiny-dpo", "--dry-run"]  # fmt: skip
        done = subprocess.run(
            [sys.executable, "-m", "curate", *args], env=env, capture_output=True, text=True, timeout=180
        )
        assert done.returncode == 0, done.stderr
        assert (
            '"flavor": "a100-large"' in done.stdout and '"HF_TOKEN": "<from HF_TOKEN / hf auth login>"' in done.stdout
        )
        assert TOKEN not in done.stdout + done.stderr and not hub.jobs


def test_hf_jobs_needs_hub_data_and_a_push_target(tiny, curated):
    local = invoke(str(curated), "--model", "alice/tiny", "--backend", "hf-jobs", "--push-to", "a/b")
    assert local.exit_code == 3 and "curate push" in local.stderr
    no_target = invoke("alice/math-dpo", "--model", "alice/tiny", "--backend", "hf-jobs")
    assert no_target.exit_code == 2 and "--push-to" in no_target.stderr


def test_failed_job_submission_is_a_clean_error(tiny, curated, tmp_path):
    with FakeHub(tokens={TOKEN: "alice"}) as hub:
        _hub_with_data_and_model(hub, curated, tiny)
        hub.fail_next("POST", r"/api/jobs/", status=500, times=10)
        env = hub.client_env(tmp_path / "home") | {"HF_TOKEN": TOKEN}
        args = ["train", "alice/math-dpo", "--model", "alice/tiny", "--backend", "hf-jobs", "--max-length", "4096",
                "--push-to", "alice/tiny-dpo"]  # fmt: skip
        done = subprocess.run(
            [sys.executable, "-m", "curate", *args], env=env, capture_output=True, text=True, timeout=180
        )
        assert done.returncode == 4, done.stderr
        assert "the job was not started" in done.stderr and "Traceback" not in done.stderr
        assert TOKEN not in done.stdout + done.stderr


@pytest.mark.parametrize("command", ["train", "check"])
def test_unreachable_hub_for_train_and_check(tiny, tmp_path, command):
    from conftest import closed_endpoint

    with FakeHub() as hub:
        env = hub.client_env(tmp_path / "home") | {"HF_ENDPOINT": closed_endpoint()}
    args = [
        command,
        "alice/math-dpo",
        *(["--model", str(tiny), "--device", "cpu"] if command == "train" else ["--tokenizer", str(tiny)]),
    ]
    done = subprocess.run([sys.executable, "-m", "curate", *args], env=env, capture_output=True, text=True, timeout=180)
    assert done.returncode == 4, done.stderr
    assert "cannot reach the Hub for dataset alice/math-dpo" in done.stderr and "Traceback" not in done.stderr


def test_drop_long_that_would_drop_everything_stops(tiny, curated):
    result = invoke(str(curated), "--model", str(tiny), "--device", "cpu", "--max-length", "32", "--drop-long")
    assert result.exit_code == 3 and "every train pair is longer than max_length 32" in result.stderr


def test_numeric_revisions_stay_text(tiny, curated, tmp_path):
    result = invoke(
        str(curated), "--model", str(tiny), "--dry-run", "--max-length", "4096", "--set", "model_revision=1234567"
    )
    assert result.exit_code == 0, result.output
    assert "model_revision: '1234567'" in result.stdout


def test_token_problems_stop_the_run(tiny, tmp_path):
    (tmp_path / "data").mkdir()
    prompt = "<|im_start|>user\nWhat is 2 + 3?<|im_end|>\n<|im_start|>assistant\n"
    rows = [{"prompt": prompt, "chosen": "5<|im_end|>\n", "rejected": "6<|im_end|>", "source_row": 7}]
    pl.DataFrame(rows).write_parquet(tmp_path / "data" / "train-00000-of-00001.parquet")
    result = invoke(str(tmp_path), "--model", str(tiny), "--device", "cpu")
    assert result.exit_code == 3
    assert "does not tokenize as TRL expects" in result.stderr and "eos" in result.stderr and "train:7" in result.stderr


def curate_subprocess(env: dict, *args: str) -> tuple[subprocess.CompletedProcess, float]:
    import time

    started = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "curate", *args], env=env, capture_output=True, text=True, timeout=180)
    return done, time.monotonic() - started


def test_unreachable_hub_model_fails_in_seconds(curated, tmp_path):
    """A dry run with a Hub model and no Hub: one short request, not transformers' ~50 s of retries."""
    from conftest import closed_endpoint

    with FakeHub() as hub:
        env = hub.client_env(tmp_path / "home") | {"HF_ENDPOINT": closed_endpoint()}
    done, seconds = curate_subprocess(env, "train", str(curated), "--model", "someone/model", "--dry-run")
    assert done.returncode == 4, done.stderr
    assert "Error: cannot reach the Hub for model someone/model" in done.stderr and "Traceback" not in done.stderr
    assert "Retrying" not in done.stderr and seconds < 15


def test_offline_mode_trains_on_cached_hub_data_and_names_what_is_not_cached(tiny, curated, tmp_path):
    with FakeHub() as hub:
        _hub_with_data_and_model(hub, curated, tiny)
        env = hub.client_env(tmp_path / "home")
        online, _ = curate_subprocess(env, "check", "alice/math-dpo", "--tokenizer", "alice/tiny")
        assert online.returncode == 0, online.stderr  # the data and the tokenizer are now in the Hub cache
        sha = hub.head("alice/math-dpo")
    offline = env | {"HF_HUB_OFFLINE": "1"}
    args = ["train", "alice/math-dpo", "--model", "alice/tiny", "--dry-run", "--max-length", "4096"]
    done, _ = curate_subprocess(offline, *args)
    assert done.returncode == 0, done.stderr
    assert f"alice/math-dpo {sha[:12]}" in done.stderr  # the preflight table: pinned to the cached commit
    missing, seconds = curate_subprocess(offline, "train", "bob/other", "--model", "alice/tiny", "--dry-run")
    assert missing.returncode == 4, missing.stderr
    assert "Error: cannot reach the Hub for dataset bob/other" in missing.stderr
    assert "Hint: Unset HF_HUB_OFFLINE" in missing.stderr and "HF_HUB_OFFLINE=1" not in missing.stderr
    assert "Traceback" not in missing.stderr and seconds < 15


@pytest.mark.parametrize("contents", [{}, {"README.md": "# weights elsewhere"}])
def test_a_model_folder_without_a_tokenizer_is_an_input_error(curated, tmp_path, contents):
    folder = tmp_path / "model"
    folder.mkdir()
    for name, text in contents.items():
        (folder / name).write_text(text)
    result = invoke(str(curated), "--model", str(folder), "--device", "cpu", "--dry-run")
    assert result.exit_code == 3, result.output
    assert f"{folder} is not a tokenizer folder: expected tokenizer.json or tokenizer_config.json" in result.stderr
