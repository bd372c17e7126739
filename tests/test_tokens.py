"""curate/tokens.py against TRL itself: the ids DPOTrainer trains on, row by row (no training), and the job
program that ships the module to a Hugging Face Job without curate installed."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from conftest import SAMPLE
from tiny_model import CHATML_TEMPLATE, build_tokenizer, corpus

from curate.render import chatml_prompt, chatml_response
from curate.tokens import encode_pair, encode_pairs

pytest.importorskip("trl", reason="the comparison with TRL needs the train extra: pip install -e '.[train]'")

QUESTION = chatml_prompt(None, "What is the answer?")
STRING_ROWS = [
    {"prompt": chatml_prompt("Be exact.", "What is 2 + 3?"), "chosen": "2 + 3 = 5.<|im_end|>", "rejected": "6"},
    {"prompt": QUESTION, "chosen": chatml_response("5"), "rejected": "6<|im_end|>\n"},  # TRL appends a 2nd EOS
    {"prompt": "<s>" + QUESTION, "chosen": chatml_response("5"), "rejected": chatml_response("6")},  # literal BOS
    # " ans" + "wer" merge into one token: the prompt's last tokens are not a prefix of prompt + chosen.
    {"prompt": QUESTION + "The ans", "chosen": "wer is 5.<|im_end|>", "rejected": " is 6.<|im_end|>"},
    {"prompt": QUESTION + " ", "chosen": "wer", "rejected": " 6"},  # one response merges, the other not
]
USER = [{"role": "user", "content": "What is 2 + 3?"}]
CONVERSATIONAL_ROWS = [
    {
        "prompt": [{"role": "system", "content": "Be exact."}, *USER],
        "chosen": [{"role": "assistant", "content": "5"}],
        "rejected": [{"role": "assistant", "content": "6"}],
    },
    {
        "prompt": USER,
        "chosen": [{"role": "assistant", "content": "2 + 3 = 5.<|im_end|>"}],
        "rejected": [{"role": "assistant", "content": ""}],
    },
]
# Like Gemma's: the generation prompt opens an empty thought block that the whole conversation does not have.
THINKING_TEMPLATE = CHATML_TEMPLATE.replace("'<|im_start|>assistant\\n'", "'<|im_start|>assistant\\n<think></think>'")


def trl_ids(rows: list[dict], tokenizer, model, tmp_path) -> list[tuple[list, list, list]]:
    """(prompt_ids, chosen_ids, rejected_ids) per row, as DPOTrainer prepares its train dataset."""
    from datasets import Dataset
    from trl import DPOConfig, DPOTrainer

    args = DPOConfig(output_dir=str(tmp_path), use_cpu=True, bf16=False, report_to="none", max_length=None)
    trainer = DPOTrainer(model=str(model), args=args, train_dataset=Dataset.from_list(rows), processing_class=tokenizer)
    prepared = trainer.train_dataset
    return list(zip(prepared["prompt_ids"], prepared["chosen_ids"], prepared["rejected_ids"], strict=True))


def curate_ids(rows: list[dict], tokenizer) -> list[tuple[list, list, list]]:
    encoded = encode_pairs(*([r[k] for r in rows] for k in ("prompt", "chosen", "rejected")), tokenizer)
    return [(pair.prompt, pair.chosen, pair.rejected) for pair in encoded]


@pytest.mark.parametrize("with_bos", [True, False], ids=["with_bos", "no_bos"])
def test_string_rows_encode_as_trl_encodes_them(tiny, tmp_path, with_bos):
    tokenizer = build_tokenizer(corpus(SAMPLE), with_bos=with_bos)
    assert curate_ids(STRING_ROWS, tokenizer) == trl_ids(STRING_ROWS, tokenizer, tiny, tmp_path)
    cut = [encode_pair(row, tokenizer).prompt_cut for row in STRING_ROWS]
    assert cut[0] == cut[1] == 0 and cut[3] > 0 and cut[4] > 0  # the trimming is exercised, not just allowed


@pytest.mark.parametrize("template", [CHATML_TEMPLATE, THINKING_TEMPLATE], ids=["chatml", "thinking"])
def test_conversational_rows_encode_as_trl_encodes_them(tiny, tmp_path, template):
    tokenizer = build_tokenizer(corpus(SAMPLE))
    tokenizer.chat_template = template
    assert curate_ids(CONVERSATIONAL_ROWS, tokenizer) == trl_ids(CONVERSATIONAL_ROWS, tokenizer, tiny, tmp_path)
    cut = {encode_pair(row, tokenizer).prompt_cut for row in CONVERSATIONAL_ROWS}
    assert cut == ({0} if template == CHATML_TEMPLATE else {len(tokenizer("<think></think>")["input_ids"])})


def test_the_job_program_runs_run_py_without_curate_installed(tmp_path):
    """`python -I -S`: no site-packages, no PYTHONPATH, not the working directory: curate cannot be imported
    (nor torch), so getting as far as train()'s `import torch` proves the program brought curate.tokens."""
    from curate.train.job_script import job_program

    bare = [sys.executable, "-I", "-S", "-c"]
    no_curate = subprocess.run([*bare, "import curate"], cwd=tmp_path, capture_output=True, text=True)
    assert "No module named 'curate'" in no_curate.stderr
    spec = json.dumps({"recipe": {}})
    done = subprocess.run([*bare, job_program(), spec], cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    lines = done.stderr.splitlines()
    assert lines[-1] == "ModuleNotFoundError: No module named 'torch'", done.stderr
    assert 'File "curate/train/run.py"' in done.stderr and "in main" in done.stderr and "in train" in done.stderr


def test_the_job_program_fits_one_command_line_argument():
    from curate.train.job_script import job_program

    assert len(job_program().encode()) < 128 * 1024  # Linux's MAX_ARG_STRLEN: the job's `python -c` argument


def curate_imports(module) -> set[str]:
    """Every curate module a module imports, at its top or inside a function."""
    import ast
    from pathlib import Path

    tree = ast.parse(Path(module.__file__).read_text(encoding="utf-8"))
    names = {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module}
    names |= {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    return {name for name in names if name.split(".")[0] == "curate"}


def test_the_job_ships_every_curate_module_run_py_imports():
    from curate.train import run
    from curate.train.job_script import SHIPPED_MODULES

    assert curate_imports(run) == set(SHIPPED_MODULES)
    assert all(curate_imports(module) == set() for module in SHIPPED_MODULES.values())
