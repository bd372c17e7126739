"""The DPO training entry point: `python run.py SPEC.json` (or `accelerate launch run.py SPEC.json`).

It imports one curate module, curate.tokens (plain Python, no curate imports of its own), so that it drops the
rows TRL would see as too long exactly as the preflight measured them. Locally and under `accelerate launch`
that is the installed module; a Hugging Face Job, where curate is not installed, runs the program of
curate/train/job_script.py, which ships tokens.py's source with this file's. The spec is written by
curate.train.launch: the resolved recipe, where the data is (and its revision or report hash), and the
max_length the preflight checked.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

from curate.tokens import pair_lengths

METRICS_FILE = "metrics.jsonl"


def main(argv: list[str]) -> None:
    spec = json.loads(argv[1]) if argv[1].lstrip().startswith("{") else json.loads(Path(argv[1]).read_text())
    train(spec)


def train(spec: dict[str, Any], progress: Any = None) -> dict[str, float]:
    """Train, evaluate on the test split, save model + tokenizer + metrics + card; return the final eval."""
    import torch

    recipe = spec["recipe"]
    if recipe["torch_threads"]:
        torch.set_num_threads(recipe["torch_threads"])
    tokenizer = load_tokenizer(recipe)
    splits = load_splits(spec)
    splits = {name: keep_fitting(rows, tokenizer, spec["max_length"]) for name, rows in splits.items()}
    splits = {name: rows for name, rows in splits.items() if len(rows)}  # the preflight keeps train non-empty
    trainer = make_trainer(spec, tokenizer, splits, progress)
    trainer.train()
    if torch.cuda.is_available() and recipe["device"] == "cuda":
        trainer.log({"peak_gpu_memory_gib": torch.cuda.max_memory_allocated() / 2**30})
    final = trainer.evaluate() if "test" in splits else {}
    trainer.save_model(recipe["output_dir"])  # every rank: ZeRO-3 and FSDP gather the weights collectively
    if trainer.is_world_process_zero():
        write_card(spec, final)
        push_result(spec)
    return final


def load_tokenizer(recipe: dict[str, Any]):
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(recipe["model"], revision=recipe["model_revision"])
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer


def load_splits(spec: dict[str, Any]) -> dict[str, Any]:
    """train and (when present) test, exactly as `load_dataset` gives them."""
    from datasets import load_dataset

    data = spec["data"]
    loaded = load_dataset(data["path"], revision=data.get("revision"))  # HF_TOKEN from the environment
    return {name: loaded[name] for name in ("train", "test") if name in loaded}


def keep_fitting(rows, tokenizer, max_length: int):
    """Rows that fit max_length (the preflight stopped the run if any did not, unless told to drop them)."""
    lengths = pair_lengths(rows, tokenizer)
    fitting = [i for i, n in enumerate(lengths) if n <= max_length]
    return rows if len(fitting) == len(lengths) else rows.select(fitting)


def make_trainer(spec: dict[str, Any], tokenizer, splits: dict[str, Any], progress: Any):
    from transformers import PrinterCallback
    from trl import DPOTrainer

    recipe = spec["recipe"]
    trainer = DPOTrainer(
        model=recipe["model"],
        args=dpo_config(spec),
        train_dataset=splits["train"],
        eval_dataset=splits.get("test"),
        processing_class=tokenizer,
        peft_config=peft_config(recipe),
        callbacks=[metrics_file(recipe["output_dir"]), *([progress] if progress else [])],
    )
    if progress:
        trainer.remove_callback(PrinterCallback)  # the progress bar shows the metrics instead of raw dicts
    return trainer


def dpo_config(spec: dict[str, Any]):
    import torch
    from trl import DPOConfig

    recipe = spec["recipe"]
    on_gpu = recipe["device"] == "cuda"
    bf16 = on_gpu and recipe["bf16"]
    init = {"revision": recipe["model_revision"], "dtype": torch.bfloat16 if bf16 else torch.float32}
    if recipe["method"] == "qlora":
        init["quantization_config"] = quantization_config()
    return DPOConfig(
        output_dir=recipe["output_dir"],
        model_init_kwargs=init,
        beta=recipe["beta"],
        loss_type=[recipe["loss_type"]],
        learning_rate=recipe["learning_rate"],
        num_train_epochs=recipe["num_train_epochs"],
        max_steps=recipe["max_steps"],
        per_device_train_batch_size=recipe["per_device_train_batch_size"],
        per_device_eval_batch_size=recipe["per_device_train_batch_size"],
        gradient_accumulation_steps=recipe["gradient_accumulation_steps"],
        warmup_steps=recipe["warmup_ratio"],  # transformers 5: a float below 1 is a ratio of total steps
        lr_scheduler_type=recipe["lr_scheduler_type"],
        max_length=spec["max_length"],
        bf16=bf16,
        use_cpu=not on_gpu,
        **{_checkpointing_arg(DPOConfig): on_gpu and recipe["gradient_checkpointing"]},
        logging_steps=recipe["logging_steps"],
        save_strategy="no",
        eval_strategy="no",
        report_to="none",
        seed=recipe["seed"],
        disable_tqdm=True,
    )


def _checkpointing_arg(config_class) -> str:
    """transformers 5 renamed gradient_checkpointing (the old name still works, with a warning)."""
    import dataclasses

    names = {f.name for f in dataclasses.fields(config_class)}
    return "activation_checkpointing" if "activation_checkpointing" in names else "gradient_checkpointing"


def quantization_config():
    import torch
    from transformers import BitsAndBytesConfig

    return BitsAndBytesConfig(
        load_in_4bit=True,
        bnb_4bit_quant_type="nf4",
        bnb_4bit_compute_dtype=torch.bfloat16,
        bnb_4bit_use_double_quant=True,
    )


def peft_config(recipe: dict[str, Any]):
    if recipe["method"] == "full":
        return None
    from peft import LoraConfig

    lora = recipe["lora"]
    return LoraConfig(
        r=lora["r"],
        lora_alpha=lora["alpha"],
        lora_dropout=lora["dropout"],
        target_modules=lora["target_modules"],
        task_type="CAUSAL_LM",
    )


def metrics_file(output_dir: str):
    """A callback writing every logged dict (loss, rewards/*, eval_*) as one JSON line with its step."""
    from transformers import TrainerCallback

    path = Path(output_dir) / METRICS_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("")

    class MetricsFile(TrainerCallback):
        def on_log(self, args, state, control, logs=None, **kwargs):
            if state.is_world_process_zero and logs:
                with path.open("a") as handle:
                    handle.write(json.dumps({"step": state.global_step, **logs}) + "\n")

    return MetricsFile()


def write_card(spec: dict[str, Any], final: dict[str, float]) -> None:
    """A model card that links back to the exact data and records the training config."""
    recipe, data = spec["recipe"], spec["data"]
    adapter = recipe["method"] != "full"
    header = {
        "base_model": recipe["model"],
        "library_name": "peft" if adapter else "transformers",
        "tags": ["trl", "dpo", "curate", *(["lora"] if adapter else [])],
    }
    if data["kind"] == "hub":
        header["datasets"] = [data["path"]]
    lines = ["---", *_yaml_lines(header), "---", "", f"# {Path(recipe['output_dir']).name}", ""]
    lines += [
        f"DPO ({recipe['method']}) of `{recipe['model']}` with TRL, launched by curate {spec['curate_version']}.",
        "",
        "## Data",
        "",
        _data_line(data),
        "",
        "## Training config",
        "",
        "```json",
        json.dumps({**recipe, "max_length": spec["max_length"]}, indent=2),
        "```",
        "",
        "## Final evaluation (test split)",
        "",
        *([f"- {key}: {value:.4f}" for key, value in sorted(final.items())] or ["(no test split)"]),
        "",
    ]
    (Path(recipe["output_dir"]) / "README.md").write_text("\n".join(lines), encoding="utf-8")


def _yaml_lines(header: dict[str, Any]) -> list[str]:
    lines = []
    for key, value in header.items():
        if isinstance(value, list):
            lines += [f"{key}:", *[f"- {item}" for item in value]]
        else:
            lines.append(f"{key}: {value}")
    return lines


def _data_line(data: dict[str, Any]) -> str:
    if data["kind"] == "hub":
        url = f"https://huggingface.co/datasets/{data['path']}"
        return f"Hub dataset [`{data['path']}`]({url}) at revision `{data['revision']}`."
    return f"Local curate build `{data['path']}`, report.json sha256 `{data['report_sha256']}`."


def push_result(spec: dict[str, Any]) -> None:
    repo = spec.get("push_to")  # set by the backend that asks for it (a job's disk is gone when it ends)
    if not repo:
        return
    from huggingface_hub import HfApi

    api = HfApi()
    api.create_repo(repo, exist_ok=True, private=True)  # unpublished weights stay private until you decide
    api.upload_folder(repo_id=repo, folder_path=spec["recipe"]["output_dir"], commit_message="DPO run by curate")


if __name__ == "__main__":
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    main(sys.argv)
