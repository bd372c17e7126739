"""The build folder: loads with `datasets`, matches the schemas, repeats byte for byte, replaces atomically."""

from __future__ import annotations

import json

import jsonschema
import polars as pl
import pytest
from conftest import REPO, distinct_pairs, pair, write_jsonl

import curate.builder
import curate.output
from curate.builder import build
from curate.config import load_recipe
from curate.errors import OutputError

SPLIT_COLUMNS = ["prompt", "chosen", "rejected", "score_chosen", "score_rejected", "source_row"]


def rows_with_defects() -> list[dict]:
    return [*distinct_pairs(40), pair(instruction=""), pair(chosen_rating=4.0), pair("What is 1 + 1?")]


def build_from(tmp_path, rows, out="out", **overrides):
    source = write_jsonl(tmp_path / "source.jsonl", rows)
    recipe = load_recipe(overrides={"source.path": str(source), **overrides})
    return build(recipe, tmp_path / out)


def test_load_dataset_returns_exactly_train_and_test(tmp_path):
    from datasets import load_dataset

    report = build_from(tmp_path, rows_with_defects())
    loaded = load_dataset(str(tmp_path / "out"))
    assert sorted(loaded) == ["test", "train"]
    for split, dataset in loaded.items():
        assert dataset.column_names == SPLIT_COLUMNS
        assert dataset.num_rows == report.splits[split]
    dropped = load_dataset(str(tmp_path / "out"), "dropped", split="dropped")
    assert sorted(dropped["reason"]) == ["duplicate_prompt", "empty_prompt", "tie"]


def test_chatml_rows_render_openhermes_turns(tmp_path):
    build_from(tmp_path, [pair(" What is 2 + 3?\n", chosen="\n2 + 3 = 5. ")], **{"split.test_size": 0.0})
    row = pl.read_parquet(tmp_path / "out/data/train-00000-of-00001.parquet").row(0, named=True)
    assert row["prompt"] == "<|im_start|>user\nWhat is 2 + 3?<|im_end|>\n<|im_start|>assistant\n"
    assert row["chosen"] == "2 + 3 = 5.<|im_end|>"
    assert row["rejected"] == "2 + 3 = 6.<|im_end|>"
    assert not row["prompt"].startswith("<s>")


def test_system_prompt_and_conversational_format(tmp_path):
    overrides = {
        "render.format": "conversational",
        "render.system_prompt": "Be exact.",
        "split.test_size": 0.0,
    }
    build_from(tmp_path, [pair()], **overrides)
    row = pl.read_parquet(tmp_path / "out/data/train-00000-of-00001.parquet").row(0, named=True)
    assert row["prompt"] == [
        {"content": "Be exact.", "role": "system"},
        {"content": "What is 2 + 3?", "role": "user"},
    ]
    assert row["chosen"] == [{"content": "2 + 3 = 5.", "role": "assistant"}]


def test_chatml_system_turn_comes_first(tmp_path):
    build_from(tmp_path, [pair()], **{"render.system_prompt": "Be exact.", "split.test_size": 0.0})
    prompt = pl.read_parquet(tmp_path / "out/data/train-00000-of-00001.parquet")["prompt"][0]
    assert prompt.startswith("<|im_start|>system\nBe exact.<|im_end|>\n<|im_start|>user\n")


@pytest.mark.parametrize(("fmt", "schema"), [("chatml", "chatml"), ("conversational", "conversational")])
def test_output_rows_match_the_published_schemas(tmp_path, fmt, schema):
    build_from(tmp_path, rows_with_defects(), **{"render.format": fmt})
    row_schema = json.loads((REPO / f"schemas/output-row.{schema}.schema.json").read_text())
    dropped_schema = json.loads((REPO / "schemas/dropped-row.schema.json").read_text())
    for row in pl.read_parquet(tmp_path / "out/data/*.parquet").to_dicts():
        jsonschema.validate(row, row_schema)
    for row in pl.read_parquet(tmp_path / "out/dropped/*.parquet").to_dicts():
        jsonschema.validate(row, dropped_schema)


def test_same_input_and_recipe_give_identical_bytes(tmp_path):
    first = build_from(tmp_path, rows_with_defects(), out="a")
    second = build_from(tmp_path, rows_with_defects(), out="b")
    assert first.files == second.files
    for name in [*first.files, "report.json"]:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name


def test_report_hashes_match_the_files(tmp_path):
    report = build_from(tmp_path, rows_with_defects())
    assert (tmp_path / "out/report.json").read_text() == report.to_json()
    assert curate.output.verify_build(tmp_path / "out") == report
    for name, record in report.files.items():
        assert curate.output.sha256_file(tmp_path / "out" / name) == record.sha256


def test_failed_build_leaves_the_previous_output_untouched(tmp_path, monkeypatch):
    build_from(tmp_path, distinct_pairs(10))
    before = {p.name: p.read_bytes() for p in (tmp_path / "out").rglob("*") if p.is_file()}

    def disk_full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(curate.builder, "sha256_file", disk_full)  # fails after the splits are written
    with pytest.raises(OutputError, match="cannot write .*out: No space left on device"):
        build_from(tmp_path, distinct_pairs(20))
    after = {p.name: p.read_bytes() for p in (tmp_path / "out").rglob("*") if p.is_file()}
    assert after == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out", "source.jsonl"]  # no staging left over


def test_rebuild_replaces_the_previous_output(tmp_path):
    build_from(tmp_path, distinct_pairs(10))
    report = build_from(tmp_path, distinct_pairs(30), **{"split.test_size": 0.0})
    assert report.splits == {"train": 30, "test": 0}
    assert sorted(p.name for p in (tmp_path / "out/data").iterdir()) == ["train-00000-of-00001.parquet"]


def test_card_yaml_names_the_splits(tmp_path):
    build_from(tmp_path, rows_with_defects())
    card = (tmp_path / "out/README.md").read_text()
    assert "config_name: default" in card and "path: data/train-*" in card and "path: data/test-*" in card
    assert "config_name: dropped" in card


def test_source_formats_agree(tmp_path):
    rows = rows_with_defects()
    frame = pl.DataFrame(rows)
    frame.write_parquet(tmp_path / "s.parquet")
    (tmp_path / "s.json").write_text(json.dumps(rows))
    folder = tmp_path / "hub_layout" / "data"
    folder.mkdir(parents=True)
    frame.write_parquet(folder / "train-00000-of-00001.parquet")
    frame.head(3).write_parquet(folder / "test-00000-of-00001.parquet")  # another split: not read
    reports = [
        build(load_recipe(overrides={"source.path": str(path)}), tmp_path / f"out{i}")
        for i, path in enumerate([tmp_path / "s.parquet", tmp_path / "s.json", tmp_path / "hub_layout"])
    ]
    assert len({json.dumps([r.dropped, r.splits]) for r in reports}) == 1


def test_save_to_disk_folder_and_trl_columns(tmp_path):
    from datasets import Dataset

    rows = [
        {"prompt": [{"role": "user", "content": f"Q{i}?"}], "chosen": [{"role": "assistant", "content": "yes"}],
         "rejected": [{"role": "assistant", "content": "no"}], "score_chosen": 8.0, "score_rejected": 2.0}
        for i in range(5)
    ]  # fmt: skip
    Dataset.from_list(rows).save_to_disk(str(tmp_path / "saved"))
    report = build(load_recipe(overrides={"source.path": str(tmp_path / "saved")}), tmp_path / "out")
    assert report.rows_kept == 5
    assert report.source.columns.chosen_rating == "score_chosen"


@pytest.mark.parametrize("fmt", ["chatml", "conversational"])
def test_card_features_are_what_datasets_would_write(tmp_path, fmt):
    import pyarrow.parquet as pq
    from datasets import Features
    from huggingface_hub.repocard import metadata_load

    build_from(tmp_path, rows_with_defects(), **{"render.format": fmt})
    infos = {info["config_name"]: info for info in metadata_load(tmp_path / "out/README.md")["dataset_info"]}
    for config, path in [
        ("default", "data/train-00000-of-00001.parquet"),
        ("dropped", "dropped/dropped-00000-of-00001.parquet"),
    ]:
        expected = Features.from_arrow_schema(pq.read_schema(tmp_path / "out" / path))._to_yaml_list()
        assert infos[config]["features"] == expected
    assert {s["name"]: s["num_examples"] for s in infos["default"]["splits"]} == {"train": 36, "test": 4}
    # num_bytes is the Arrow size `push_to_hub` records: pyarrow's Table.nbytes of the loaded split
    for split, info in [("train", infos["default"]), ("test", infos["default"]), ("dropped", infos["dropped"])]:
        prefix = "dropped/dropped" if split == "dropped" else f"data/{split}"
        loaded = pq.read_table(tmp_path / "out" / f"{prefix}-00000-of-00001.parquet")
        assert next(s["num_bytes"] for s in info["splits"] if s["name"] == split) == loaded.nbytes


def test_a_build_that_drops_nothing_loads_and_lists_no_dropped_config(tmp_path):
    from datasets import load_dataset

    report = build_from(tmp_path, distinct_pairs(20))
    assert report.rows_dropped == 0
    assert sorted(load_dataset(str(tmp_path / "out"))) == ["test", "train"]
    card = (tmp_path / "out/README.md").read_text()
    assert "config_name: dropped" not in card and "No pair was dropped." in card


def test_a_build_that_keeps_nothing_still_accounts_for_every_row(tmp_path):
    # The folder is written so the user sees why every row went; the CLI turns rows_kept == 0 into exit 9.
    report = build_from(tmp_path, [pair(chosen_rating=5.0, rejected_rating=5.0)] * 3)
    assert report.rows_kept == 0 and report.rows_dropped == 3
    assert pl.read_parquet(tmp_path / "out/dropped/*.parquet")["reason"].to_list() == ["tie"] * 3
    card = (tmp_path / "out/README.md").read_text()
    assert "This build kept no pair" in card and "trl dpo" not in card


def test_the_card_is_not_in_the_hashed_files(tmp_path):
    report = build_from(tmp_path, rows_with_defects())
    assert "README.md" not in report.files and "data/train-00000-of-00001.parquet" in report.files


def test_large_splits_are_written_as_hub_named_shards(tmp_path, monkeypatch):
    from datasets import load_dataset

    import curate.output

    monkeypatch.setattr(curate.output, "SHARD_ROWS", 7)
    report = build_from(tmp_path, rows_with_defects())
    train = sorted(p.name for p in (tmp_path / "out/data").glob("train-*.parquet"))
    assert train == [f"train-{i:05d}-of-00006.parquet" for i in range(6)]  # 36 rows, 7 a shard
    assert set(report.files) == {f"data/{name}" for name in train} | {
        "data/test-00000-of-00001.parquet",
        "dropped/dropped-00000-of-00001.parquet",
    }
    loaded = load_dataset(str(tmp_path / "out"))
    assert {name: split.num_rows for name, split in loaded.items()} == {"train": 36, "test": 4}
    assert sorted([*loaded["train"]["source_row"], *loaded["test"]["source_row"]]) == list(range(40))


def test_any_integer_seed_splits(tmp_path):
    for seed in (-7, 0, 2**70):
        report = build_from(tmp_path, rows_with_defects(), out=f"out{seed}", **{"split.seed": seed})
        assert report.splits == {"train": 36, "test": 4}


def test_a_folder_built_before_sizes_were_recorded_gets_the_same_card(tmp_path):
    from curate.card import render_card

    build_from(tmp_path, rows_with_defects())
    path = tmp_path / "out/report.json"
    older = json.loads(path.read_text())
    for record in older["files"].values():
        del record["rows"], record["arrow_bytes"]
    path.write_text(json.dumps(older))
    report = curate.output.verify_build(tmp_path / "out")
    assert render_card(report, tmp_path / "out") == (tmp_path / "out/README.md").read_text()
