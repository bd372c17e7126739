"""`curate train --device cpu` for real on a build of the shipped sample, with a tiny ChatML model.

Tests that train set one torch thread (shared/notes/env.md: two threads thrash on a busy 2-core machine).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from curate.cli import app

pytest.importorskip("trl", reason="training tests need the train extra: pip install -e '.[train]'")

FAST = [
    "--device", "cpu", "--max-length", "512", "--drop-long", "--set", "torch_threads=1", "--set", "logging_steps=1",
    "--set", "per_device_train_batch_size=4", "--set", "gradient_accumulation_steps=1", "--set", "warmup_ratio=0",
    "--set", "lr_scheduler_type=constant",
]  # fmt: skip


def train(data: Path, model: Path, out: Path, *extra: str) -> list[dict]:
    result = CliRunner().invoke(app, ["train", str(data), "--model", str(model), "-o", str(out), *FAST, *extra])
    assert result.exit_code == 0, result.output
    return [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]


def trend(metrics: list[dict]) -> tuple[dict, dict, dict]:
    logged = [m for m in metrics if "loss" in m]
    final = next(m for m in metrics if "eval_loss" in m)
    return logged[0], logged[-1], final


def test_full_fine_tuning_learns_the_preference(tiny, curated, tmp_path):
    first, last, final = trend(train(curated, tiny, tmp_path / "full", "--method", "full", "--max-steps", "16",
                                     "--learning-rate", "1e-3"))  # fmt: skip
    assert first["loss"] > 0.6 and last["loss"] < first["loss"] - 0.3
    assert last["rewards/accuracies"] >= 0.9
    assert last["rewards/margins"] > first["rewards/margins"] + 1.0
    assert final["eval_rewards/accuracies"] > 0.5 and final["eval_rewards/margins"] > 0


def test_lora_learns_the_preference(tiny, curated, tmp_path):
    first, last, final = trend(train(curated, tiny, tmp_path / "lora", "--method", "lora", "--max-steps", "16",
                                     "--learning-rate", "5e-3"))  # fmt: skip
    assert last["loss"] < first["loss"] - 0.15
    assert last["rewards/accuracies"] >= 0.9
    assert last["rewards/margins"] > first["rewards/margins"] + 0.5
    assert final["eval_rewards/accuracies"] > 0.5


def test_outputs_reload_and_generate(tiny, curated, tmp_path):
    from peft import AutoPeftModelForCausalLM
    from transformers import AutoModelForCausalLM, AutoTokenizer

    for method, loader in (("full", AutoModelForCausalLM), ("lora", AutoPeftModelForCausalLM)):
        out = tmp_path / method
        train(curated, tiny, out, "--method", method, "--max-steps", "2")
        tokenizer = AutoTokenizer.from_pretrained(out)
        model = loader.from_pretrained(out)
        prompt = tokenizer.apply_chat_template(
            [{"role": "user", "content": "What is 2 + 3?"}], add_generation_prompt=True
        )
        ids = prompt["input_ids"] if hasattr(prompt, "keys") else prompt
        import torch

        generated = model.generate(torch.tensor([ids]), max_new_tokens=5, do_sample=False)
        assert generated.shape[1] == len(ids) + 5
        card = (out / "README.md").read_text()
        report_hash = hashlib.sha256((curated / "report.json").read_bytes()).hexdigest()
        assert f"base_model: {tiny}" in card and f"report.json sha256 `{report_hash}`" in card
        assert "eval_rewards/accuracies" in card


def test_swapped_pairs_train_the_opposite_way(tiny, curated, tmp_path):
    """Same eval set (original labels) for both runs: training on swapped pairs must push the margin negative."""
    train_rows = pl.read_parquet(curated / "data/train-00000-of-00001.parquet")
    swapped = train_rows.with_columns(chosen=pl.col("rejected"), rejected=pl.col("chosen"))
    results = {}
    for name, rows in (("original", train_rows), ("swapped", swapped)):
        folder = tmp_path / name / "data"
        folder.mkdir(parents=True)
        rows.write_parquet(folder / "train-00000-of-00001.parquet")
        train_rows.head(24).write_parquet(folder / "test-00000-of-00001.parquet")
        *_, results[name] = trend(train(folder.parent, tiny, tmp_path / f"out-{name}", "--method", "full",
                                        "--max-steps", "12", "--learning-rate", "1e-3"))  # fmt: skip
    assert results["original"]["eval_rewards/margins"] > 0.5 and results["original"]["eval_rewards/accuracies"] > 0.8
    assert results["swapped"]["eval_rewards/margins"] < -0.5 and results["swapped"]["eval_rewards/accuracies"] < 0.2
