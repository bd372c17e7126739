"""Bad input files: each gets one clear error naming the file, line or column, never a traceback."""

from __future__ import annotations

import json

import pytest
from conftest import distinct_pairs, pair, write_jsonl
from typer.testing import CliRunner

from curate.cli import app

runner = CliRunner()


def build_error(source, tmp_path, *extra: str) -> str:
    result = runner.invoke(app, ["build", "--source", str(source), "--out", str(tmp_path / "out"), *extra])
    assert result.exit_code != 0
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.output
    assert not (tmp_path / "out").exists()
    return result.stderr


def test_missing_column_lists_expected_and_found(tmp_path):
    rows = [{k: v for k, v in pair().items() if k != "rejected_response"}]
    error = build_error(write_jsonl(tmp_path / "x.jsonl", rows), tmp_path)
    assert "cannot find preference columns" in error
    assert "chosen_response" in error and "found" in error


def test_missing_mapped_column_names_it(tmp_path):
    recipe = tmp_path / "r.yaml"
    recipe.write_text("source:\n  columns: {prompt: question, chosen: good, rejected: bad}\n")
    error = build_error(write_jsonl(tmp_path / "x.jsonl", [pair()]), tmp_path, "--recipe", str(recipe))
    assert "missing column 'question' (for prompt)" in error


def test_wrong_type_names_the_column_and_what_was_expected(tmp_path):
    rows = [pair(chosen_rating=[1, 2]) for _ in range(3)]
    error = build_error(write_jsonl(tmp_path / "x.jsonl", rows), tmp_path)
    assert "'chosen_rating'" in error and "must hold numbers" in error


def test_text_column_holding_numbers_is_a_type_error(tmp_path):
    rows = [pair(chosen=5) for _ in range(2)]
    error = build_error(write_jsonl(tmp_path / "x.jsonl", rows), tmp_path)
    assert "'chosen_response'" in error and "must hold text" in error


def test_malformed_json_line_names_the_line(tmp_path):
    good = json.dumps(pair())
    path = tmp_path / "x.jsonl"
    path.write_text(f'{good}\n{good}\n{{"instruction": "oops",\n{good}\n')
    error = build_error(path, tmp_path)
    assert f"{path}, line 3: malformed JSON" in error


def test_empty_file(tmp_path):
    path = tmp_path / "x.jsonl"
    path.write_text("\n")
    assert "file is empty" in build_error(path, tmp_path)


def test_non_utf8_names_the_line(tmp_path):
    path = tmp_path / "x.jsonl"
    path.write_bytes(json.dumps(pair()).encode() + b"\n" + '{"instruction": "caf\u00e9"}'.encode("latin-1") + b"\n")
    assert f"{path}, line 2: not valid UTF-8" in build_error(path, tmp_path)


def test_json_that_is_not_an_array(tmp_path):
    path = tmp_path / "x.json"
    path.write_text(json.dumps(pair()))
    assert "expected a JSON array of objects" in build_error(path, tmp_path)


def test_not_a_parquet_file(tmp_path):
    path = tmp_path / "x.parquet"
    path.write_text("hello")
    assert "not a readable parquet file" in build_error(path, tmp_path)


def test_unsupported_suffix(tmp_path):
    path = tmp_path / "x.csv"
    path.write_text("a,b\n")
    assert "unsupported file type .csv" in build_error(path, tmp_path)


def test_bad_recipe_value_is_a_config_error(tmp_path):
    source = write_jsonl(tmp_path / "x.jsonl", distinct_pairs(3))
    result = runner.invoke(app, ["build", "--source", str(source), "--out", str(tmp_path / "o"), "--format", "xml"])
    assert result.exit_code == 2
    assert "render.format" in result.stderr and "Hint:" in result.stderr


def test_unknown_recipe_key_is_a_config_error(tmp_path):
    recipe = tmp_path / "r.yaml"
    recipe.write_text("split:\n  test_fraction: 0.2\n")
    source = write_jsonl(tmp_path / "x.jsonl", distinct_pairs(3))
    result = runner.invoke(app, ["build", "--source", str(source), "--out", str(tmp_path / "o"), "-r", str(recipe)])
    assert result.exit_code == 2
    assert "split.test_fraction: Extra inputs are not permitted" in result.stderr


@pytest.mark.parametrize("content", ["[1, 2]", '[{"a": 1}, 3]'])
def test_json_items_must_be_objects(tmp_path, content):
    path = tmp_path / "x.json"
    path.write_text(content)
    assert ": expected a JSON object, found int" in build_error(path, tmp_path)


def test_refuses_to_replace_a_folder_that_is_not_a_build(tmp_path):
    source = write_jsonl(tmp_path / "x.jsonl", distinct_pairs(3))
    precious = tmp_path / "precious"
    precious.mkdir()
    (precious / "thesis.tex").write_text("years of work")
    result = runner.invoke(app, ["build", "--source", str(source), "--out", str(precious)])
    assert result.exit_code == 5
    assert "is not a curate build folder" in result.stderr
    assert (precious / "thesis.tex").read_text() == "years of work"


def test_folder_where_no_file_names_the_split(tmp_path):
    folder = tmp_path / "prefs" / "data"
    folder.mkdir(parents=True)
    for split in ("train_prefs", "test_prefs"):
        write_jsonl(folder / f"{split}-00000-of-00001.jsonl", distinct_pairs(3))
    error = build_error(tmp_path / "prefs", tmp_path)
    assert "no file names the split 'train'" in error and "train_prefs" in error
    result = runner.invoke(app, ["build", "--source", str(tmp_path / "prefs"), "--split", "train_prefs",
                                 "--out", str(tmp_path / "ok"), "--json", "--decontaminate", "none"])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["rows_in"] == 3
