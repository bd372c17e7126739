"""Decontamination: benchmark items planted in a prompt, a chosen or a rejected text are found (whole pair dropped);
a different problem on the same topic is kept; benchmarks load from local files or the Hub, never skipped silently."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import polars as pl
import pytest
from conftest import closed_endpoint, distinct_pairs, pair, write_jsonl
from fakehub import FakeHub, parquet_bytes
from typer.testing import CliRunner

from curate.builder import build
from curate.cli import app
from curate.config import BenchmarkSpec, Recipe, load_recipe
from curate.errors import ConfigError, InputError
from curate.eval_sets import Benchmark, load_benchmark, resolve
from curate.pipeline import run_pipeline
from curate.sources.columns import DISTILABEL_COLUMNS, to_canonical

DUCKS = (
    "Janelle's hens lay 16 eggs per day. She eats three for breakfast every morning and bakes muffins for "
    "her friends every day with four. She sells the remainder at the farmers' market daily for $2 per egg. "
    "How much in dollars does she make every day at the farmers' market?"
)
BINOMIAL = r"Compute $\dbinom{31}{28}$ and write the answer as an integer."
NEAR_MISS = (  # the same topic, another problem: shares stock phrases, not the item's text
    "Tom's hens lay 12 eggs per day. He uses five of them for cakes and gives two to a neighbour. "
    "How much in dollars does he make every day if he sells the rest for $3 per egg?"
)


def run(rows: list[dict], items: list[str], **decontaminate):
    frame = to_canonical(pl.DataFrame(rows, strict=False), DISTILABEL_COLUMNS, "test")
    recipe = Recipe.model_validate({"decontaminate": decontaminate})
    return run_pipeline(frame, recipe, has_ratings=True, benchmarks=[Benchmark("evals", items)])


def drops(rows: list[dict], items: list[str], **decontaminate) -> dict[int, str]:
    result = run(rows, items, **decontaminate)
    return dict(zip(result.dropped["row"], result.dropped["detail"], strict=True))


@pytest.mark.parametrize(
    ("planted", "where"),
    [
        (pair(instruction=DUCKS), "prompt"),
        (pair(instruction=f"Answer carefully. {DUCKS.upper()}\n\nShow your work."), "prompt"),
        (pair(chosen=f"This is like the classic: {DUCKS} The answer there is $18."), "chosen"),
        (pair(rejected=f"Hmm.\n{DUCKS.replace(' ', '   ').replace('.', ' .')}"), "rejected"),
        (pair(instruction=r"Please compute $\dbinom {31} {28}$ and write the answer as an integer."), "prompt"),
        (pair(chosen=r"We compute $\binom{31}{28}$ and write the answer as an integer: 4495."), "chosen"),
    ],
)
def test_planted_item_drops_the_whole_pair(planted, where):
    rows = [*distinct_pairs(3), planted]
    assert drops(rows, [NEAR_MISS, BINOMIAL, DUCKS]) == {
        3: f"evals item {1 if 'inom' in str(planted) else 2} in {where}"
    }


def test_a_different_problem_on_the_same_topic_is_kept():
    rows = [pair(instruction=NEAR_MISS), pair(instruction="How many eggs do 16 hens lay per day?")]
    assert drops(rows, [DUCKS]) == {}


def test_a_changed_number_still_matches_but_a_stock_phrase_does_not():
    changed = DUCKS.replace("16 eggs", "17 eggs")
    phrase = "How much in dollars does she make every day at the farmers' market, where she sells bread?"
    assert drops([pair(instruction=changed), pair(instruction=phrase)], [DUCKS]) == {0: "evals item 0 in prompt"}


def test_ngram_and_min_overlap_are_the_match_rule():
    half = " ".join(DUCKS.split()[:24])  # the first half of the item
    assert drops([pair(instruction=half)], [DUCKS]) == {}
    assert drops([pair(instruction=half)], [DUCKS], min_overlap=0.3) == {0: "evals item 0 in prompt"}
    assert drops([pair(instruction=half)], [DUCKS], ngram=30) == {}  # items shorter than n must appear whole


def test_items_under_three_words_are_not_used():
    assert drops([pair(instruction="Compute 5! please")], ["Compute 5!", "", "  "]) == {}


def test_first_match_names_the_text_benchmark_and_item():
    rows = [pair(instruction=BINOMIAL, chosen=DUCKS)]
    frame = to_canonical(pl.DataFrame(rows, strict=False), DISTILABEL_COLUMNS, "test")
    benchmarks = [Benchmark("gsm8k", [DUCKS]), Benchmark("math500", ["x y z w", BINOMIAL])]
    result = run_pipeline(frame, Recipe(), has_ratings=True, benchmarks=benchmarks)
    assert result.dropped.select("step", "reason", "detail").rows() == [
        ("decontaminate", "contaminated", "math500 item 1 in prompt")
    ]


def test_decontamination_runs_before_dedup_so_the_clean_copy_is_kept():
    rows = [pair(chosen=f"{DUCKS} 2 + 3 = 5."), pair()]  # same prompt; the first, larger-gap pair leaks
    result = run(rows, [DUCKS])
    assert result.kept["row"].to_list() == [1]


@pytest.mark.parametrize("suffix", ["jsonl", "parquet", "json"])
def test_local_benchmark_files_and_column_detection(tmp_path, suffix):
    path = tmp_path / f"evals.{suffix}"
    answers = ["She makes $18 every day.", "The answer is 4495."]
    frame = pl.DataFrame({"id": [0, 1], "problem": [DUCKS, BINOMIAL], "answer": answers})
    if suffix == "parquet":
        frame.write_parquet(path)
    elif suffix == "json":
        path.write_text(json.dumps(frame.to_dicts()))
    else:
        frame.write_ndjson(path)
    bench = load_benchmark(resolve(str(path)))
    assert (bench.name, bench.items, bench.source["column"]) == (f"evals.{suffix}", [DUCKS, BINOMIAL], "problem")
    named = load_benchmark(BenchmarkSpec(path=str(path), column="answer", name="answers"))
    assert (named.name, named.items) == ("answers", answers)


def test_a_benchmark_whose_items_are_all_too_short_is_an_error(tmp_path):
    """Items under three words are not used: a benchmark made only of them would check nothing, silently."""
    path = write_jsonl(tmp_path / "evals.jsonl", [{"problem": DUCKS, "answer": a} for a in ("18", "$4495", " ")])
    with pytest.raises(InputError) as caught:
        load_benchmark(BenchmarkSpec(path=str(path), column="answer", name="answers"))
    assert caught.value.message == (
        "benchmark answers: none of its 3 items in column 'answer' has 3 or more words (2 non-empty, all shorter), "
        "so it would check nothing"
    )
    assert load_benchmark(BenchmarkSpec(path=str(path))).items == [DUCKS] * 3  # the problems are long enough


def test_a_build_against_a_benchmark_of_short_items_stops(tmp_path):
    source = write_jsonl(tmp_path / "s.jsonl", distinct_pairs(3))
    evals = write_jsonl(tmp_path / "evals.jsonl", [{"question": "Compute 5!"}, {"question": "x"}])
    args = ["build", "--source", str(source), "--decontaminate", str(evals), "-o", str(tmp_path / "o")]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 3, result.output
    assert "benchmark evals.jsonl: none of its 2 items in column 'question' has 3 or more words" in result.stderr
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("entry", ["a/b!!", "own er/na me", "alice/-evals"])
def test_an_invalid_hub_id_is_a_config_error_naming_the_forms(entry):
    with pytest.raises(ConfigError) as caught:
        resolve(entry)
    assert caught.value.message.startswith(f"benchmark {entry!r} is not a valid Hub dataset id")
    assert "gsm8k, math500, a Hub dataset id (owner/name), a path to a JSONL or parquet file" in caught.value.hint
    with pytest.raises(ConfigError, match="is not a valid Hub dataset id"):
        resolve(BenchmarkSpec(dataset=entry))


def test_an_invalid_hub_id_in_the_cli_exits_2_without_a_traceback(tmp_path):
    source = write_jsonl(tmp_path / "s.jsonl", distinct_pairs(3))
    args = ["build", "--source", str(source), "--decontaminate", "gsm8k,a/b!!", "-o", str(tmp_path / "o")]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2, result.output
    assert "Error: benchmark 'a/b!!' is not a valid Hub dataset id" in result.stderr
    assert result.exception is None or isinstance(result.exception, SystemExit)


@pytest.mark.parametrize("entries", [[""], ["gsm8k", "  "]])
def test_an_empty_benchmark_name_in_the_recipe_is_a_config_error(entries):
    with pytest.raises(ConfigError, match=r"decontaminate.benchmarks: entry \d is an empty name; expected gsm8k"):
        load_recipe(overrides={"decontaminate.benchmarks": entries})


def test_bad_benchmark_entries_are_clear_errors(tmp_path):
    with pytest.raises(ConfigError, match="unknown benchmark 'gsm9k'"):
        resolve("gsm9k")
    write_jsonl(tmp_path / "e.jsonl", [{"body": DUCKS}])
    with pytest.raises(InputError, match="none of the columns"):
        load_benchmark(resolve(str(tmp_path / "e.jsonl")))
    with pytest.raises(InputError, match="benchmark file not found"):
        load_benchmark(resolve(str(tmp_path / "missing.jsonl")))
    with pytest.raises(ConfigError, match="exactly one of"):
        load_recipe(overrides={"decontaminate.benchmarks": [{"split": "test"}]})


def test_build_reports_contamination_per_benchmark(tmp_path):
    evals = write_jsonl(tmp_path / "evals.jsonl", [{"question": DUCKS}, {"question": BINOMIAL}])
    source = write_jsonl(tmp_path / "s.jsonl", [*distinct_pairs(6), pair(DUCKS), pair(chosen=BINOMIAL)])
    overrides = {"source.path": str(source), "decontaminate.benchmarks": [str(evals)]}
    report = build(load_recipe(overrides=overrides), tmp_path / "out").model_dump()
    assert report["dropped"] == {"contaminated": 2}
    [bench] = report["decontamination"]
    assert bench | {"sha256": None, "items_sha256": None} == {
        "name": "evals.jsonl", "path": evals.as_posix(), "sha256": None, "column": "question", "items": 2,
        "items_sha256": None, "pairs_dropped": 2, "items_matched": 2,
    }  # fmt: skip
    dropped = pl.read_parquet(tmp_path / "out/dropped/*.parquet")
    assert dropped.select("source_row", "detail").rows() == [
        (6, "evals.jsonl item 0 in prompt"),
        (7, "evals.jsonl item 1 in chosen"),
    ]


def curate_build(env: dict, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "curate", "build", *args], env=env, capture_output=True, text=True, timeout=120
    )


def test_unreachable_hub_benchmark_is_an_error_that_names_the_local_file_option(tmp_path):
    source = write_jsonl(tmp_path / "s.jsonl", distinct_pairs(3))
    env = {k: v for k, v in os.environ.items() if not k.startswith("HF_")}
    env |= {"HF_ENDPOINT": closed_endpoint(), "HF_HOME": str(tmp_path / "home")}
    started = time.monotonic()
    done = curate_build(env, "--source", str(source), "--out", str(tmp_path / "out"))
    assert time.monotonic() - started < 20
    assert done.returncode == 4, done.stderr
    assert "Error: cannot load benchmark gsm8k (openai/gsm8k, split test)" in done.stderr
    assert "--decontaminate PATH" in " ".join(done.stderr.split()) and "Traceback" not in done.stderr
    assert not (tmp_path / "out").exists()


GSM8K_CARD = (
    b"---\nconfigs:\n- config_name: main\n  data_files:\n  - split: test\n    path: main/test-*\n"
    b"- config_name: socratic\n  data_files:\n  - split: test\n    path: socratic/test-*\n---\n"
)


def test_hub_benchmark_loads_through_datasets_pinned_and_cached(tmp_path):
    items = [{"question": DUCKS, "answer": "#### 18"}, {"question": NEAR_MISS, "answer": "#### 15"}]
    source = write_jsonl(tmp_path / "s.jsonl", [*distinct_pairs(4), pair(f"Q: {DUCKS}")])
    with FakeHub() as hub:
        files = {
            "README.md": GSM8K_CARD,
            "main/test-00000-of-00001.parquet": parquet_bytes(items),
            "socratic/test-00000-of-00001.parquet": parquet_bytes(items[:1]),
        }
        sha = hub.add_dataset_commit("openai/gsm8k", files)
        env = hub.client_env(tmp_path / "home")
        done = curate_build(
            env, "--source", str(source), "--decontaminate", "gsm8k", "-o", str(tmp_path / "a"), "--json"
        )
        assert done.returncode == 0, done.stderr
        report = json.loads(done.stdout)
        assert report["dropped"] == {"contaminated": 1}
        [bench] = report["decontamination"]
        assert (bench["dataset"], bench["config"], bench["sha"], bench["items"]) == ("openai/gsm8k", "main", sha, 2)
    offline = {**env, "HF_HUB_OFFLINE": "1"}  # the fake Hub is gone: the datasets cache answers
    again = curate_build(
        offline, "--source", str(source), "--decontaminate", "gsm8k", "-o", str(tmp_path / "b"), "--json"
    )
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["dropped"] == {"contaminated": 1}


def test_none_turns_decontamination_off(tmp_path):
    source = write_jsonl(tmp_path / "s.jsonl", [pair(DUCKS)])
    env = {k: v for k, v in os.environ.items() if not k.startswith("HF_")}
    env |= {"HF_ENDPOINT": closed_endpoint(), "HF_HOME": str(tmp_path / "home")}
    done = curate_build(env, "--source", str(source), "--decontaminate", "none", "-o", str(tmp_path / "o"), "--json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert [s["step"] for s in report["steps"]] == ["validate", "preference", "dedup", "near_dedup", "length"]
    assert report["decontamination"] == [] and report["recipe"]["decontaminate"]["benchmarks"] == []
