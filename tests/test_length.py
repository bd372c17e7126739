"""Step `length`: token limits with the target tokenizer, length statistics and the length bias of chosen
responses, checked on hand-made pairs with known answers."""

from __future__ import annotations

import polars as pl
import pytest
from conftest import pair, write_jsonl

from curate.builder import build
from curate.config import Recipe, load_recipe
from curate.steps.length import bias, length_bias


def lengths(chosen: list[int], rejected: list[int]) -> pl.DataFrame:
    n = len(chosen)
    return pl.DataFrame(
        {"row": range(n), "prompt_len": [10] * n, "chosen_len": chosen, "rejected_len": rejected},
        schema={"row": pl.Int64, "prompt_len": pl.Int64, "chosen_len": pl.Int64, "rejected_len": pl.Int64},
    )


def test_bias_figures_have_the_known_answer():
    # chosen longer in 2 of 4 pairs; ratios 2, 2, 0.5, 1 -> median 1.5
    assert bias(lengths([10, 20, 5, 8], [5, 10, 10, 8])) == {
        "pairs": 4,
        "chosen_longer_share": 0.5,
        "median_length_ratio": 1.5,
    }


def test_length_bias_drops_the_fewest_most_skewed_pairs():
    frame = lengths([30, 12, 50, 5], [10, 10, 10, 10])  # 3 of 4 chosen-longer; ratios 3, 1.2, 5, 0.5
    dropped = length_bias(frame, max_share=0.5)
    assert dropped["row"].to_list() == [0, 2]  # (3 - 2) / (4 - 2) = 0.5: the two largest ratios go
    assert set(dropped["reason"]) == {"length_bias"}
    assert length_bias(frame, max_share=0.8).height == 0
    assert length_bias(frame, max_share=None).height == 0


def test_build_reports_character_lengths_and_bias_without_a_tokenizer(tmp_path):
    rows = [
        pair(f"Q{i}?", chosen="a" * c, rejected="b" * r)
        for i, (c, r) in enumerate([(10, 5), (20, 10), (5, 10), (8, 8)])
    ]
    source = write_jsonl(tmp_path / "s.jsonl", rows)
    report = build(
        load_recipe(overrides={"source.path": str(source), "split.test_size": 0.0}), tmp_path / "out"
    ).model_dump()
    assert report["rows_kept"] == 4
    lengths_report = report["lengths"]
    assert lengths_report["unit"] == "characters"
    assert lengths_report["splits"]["train"]["bias"] == {
        "pairs": 4,
        "chosen_longer_share": 0.5,
        "median_length_ratio": 1.5,
    }
    assert lengths_report["splits"]["train"]["chosen"] == {"min": 5, "median": 9.0, "p95": 20.0, "max": 20}


def test_length_bias_bound_in_a_build(tmp_path):
    rows = [
        pair(f"Q{i}?", chosen="a" * c, rejected="b" * r)
        for i, (c, r) in enumerate([(30, 10), (12, 10), (50, 10), (5, 10)])
    ]
    source = write_jsonl(tmp_path / "s.jsonl", rows)
    overrides = {"source.path": str(source), "split.test_size": 0.0, "length_bias.max_chosen_longer_share": 0.5}
    report = build(load_recipe(overrides=overrides), tmp_path / "out").model_dump()
    assert report["dropped"] == {"length_bias": 2}
    assert report["lengths"]["splits"]["train"]["bias"]["chosen_longer_share"] == 0.5
    dropped = pl.read_parquet(tmp_path / "out/dropped/*.parquet")
    assert dropped["detail"].to_list() == ["chosen 30 vs rejected 10 (3.0x)", "chosen 50 vs rejected 10 (5.0x)"]


def test_max_length_needs_a_tokenizer():
    with pytest.raises(Exception, match="tokens.max_length needs tokens.tokenizer"):
        Recipe.model_validate({"tokens": {"max_length": 512}})


def test_token_limit_drops_what_trl_would_truncate(tiny, tmp_path):
    pytest.importorskip("transformers")
    from transformers import AutoTokenizer

    from curate.tokens import encode_pair

    rows = [pair(f"What is {i} + {i}?", chosen="The sum is " + "very " * (i * 20) + "big.") for i in range(6)]
    source = write_jsonl(tmp_path / "s.jsonl", rows)
    overrides = {
        "source.path": str(source),
        "split.test_size": 0.0,
        "tokens.tokenizer": str(tiny),
        "tokens.max_length": 150,
    }
    report = build(load_recipe(overrides=overrides), tmp_path / "out").model_dump()
    kept = pl.read_parquet(tmp_path / "out/data/train-00000-of-00001.parquet")
    tokenizer = AutoTokenizer.from_pretrained(tiny)
    measured = [encode_pair(row, tokenizer).length for row in kept.to_dicts()]
    assert measured and max(measured) <= 150
    dropped = pl.read_parquet(tmp_path / "out/dropped/*.parquet")
    assert set(dropped["reason"]) == {"too_long"} and report["dropped"]["too_long"] == dropped.height > 0
    assert all(d.endswith("tokens > 150") for d in dropped["detail"])
    assert report["lengths"]["unit"] == "tokens"
    assert report["lengths"]["splits"]["train"]["prompt"]["max"] <= 150


def test_the_length_step_imports_no_training_or_check_code():
    """Layers point one way: a build step uses the tokenization modules, not `curate check` or training."""
    import ast
    from pathlib import Path

    import curate.steps.length

    tree = ast.parse(Path(curate.steps.length.__file__).read_text(encoding="utf-8"))
    imported = {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    imported |= {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    assert {"curate.tokens", "curate.tokenizer_loading"} <= imported
    assert not {name for name in imported if name.startswith(("curate.train", "curate.checker"))}
