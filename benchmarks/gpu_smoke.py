"""GPU smoke run of `curate train`: the tiny test model on CUDA in bf16, through the local backend (one
process) and through `accelerate launch` (FSDP config, one process), printing steps/s and peak GPU memory.

    python benchmarks/gpu_smoke.py [--steps 50]

Needs a CUDA GPU and `pip install -e '.[train,test]'`. Builds the shipped sample and the tiny model itself.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from tiny_model import build_model, build_tokenizer, corpus  # noqa: E402

SAMPLE = ROOT / "data" / "distilabel-math-sample.jsonl"


def curate(*args: str) -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "curate", *args], check=True)
    return time.perf_counter() - started


def figures(out: Path) -> dict:
    logs = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    runtime = next(m for m in logs if "train_runtime" in m)
    peak = next((m["peak_gpu_memory_gib"] for m in logs if "peak_gpu_memory_gib" in m), None)
    losses = [m["loss"] for m in logs if "loss" in m]
    return {"steps/s": runtime["train_steps_per_second"], "peak GiB": peak, "loss first/last": (losses[0], losses[-1])}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=50)
    steps = str(parser.parse_args().steps)
    work = Path(tempfile.mkdtemp(prefix="curate-gpu-"))
    model = build_model(build_tokenizer(corpus(SAMPLE)), work / "tiny")
    curate("build", "--source", str(SAMPLE), "--out", str(work / "data"))
    common = ["train", str(work / "data"), "--model", str(model), "--max-length", "1024", "--drop-long",
              "--max-steps", steps, "--learning-rate", "1e-3", "--set", "logging_steps=5",
              "--method", "full"]  # fmt: skip
    results = {}
    results["local (1 process, bf16)"] = (curate(*common, "-o", str(work / "local")), figures(work / "local"))
    # accelerate with one process: --gpus 1 normally runs in-process, so the smoke run asks for it directly.
    accel_out = work / "accelerate"
    from curate.train.backends.accelerate import ACCELERATE_CONFIGS
    from curate.train.config import load_train_recipe
    from curate.train.launch import RUN_SCRIPT, build_spec, write_spec
    from curate.train.preflight import preflight

    recipe = load_train_recipe(overrides={"data": str(work / "data"), "model": str(model), "output_dir": str(accel_out),
                                          "max_length": 1024, "drop_long": True, "max_steps": int(steps),
                                          "learning_rate": 1e-3, "logging_steps": 5, "method": "full"})  # fmt: skip
    spec_path = write_spec(build_spec(recipe, preflight(recipe)))
    command = [sys.executable, "-m", "accelerate.commands.launch",
               "--config_file", str(ACCELERATE_CONFIGS / "fsdp.yaml"), "--num_processes", "1",
               str(RUN_SCRIPT), str(spec_path)]  # fmt: skip
    started = time.perf_counter()
    subprocess.run(command, check=True)
    results["accelerate launch (FSDP, 1 process)"] = (time.perf_counter() - started, figures(accel_out))
    for name, (wall, figs) in results.items():
        print(f"{name}: wall {wall:.1f} s, {figs}")


if __name__ == "__main__":
    main()
