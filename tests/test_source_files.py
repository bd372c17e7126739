"""Reading source files: odd but valid files are read, broken ones get one clear error naming file, row and
what was expected, never a traceback."""

from __future__ import annotations

import json
import os

import polars as pl
import pytest
from conftest import distinct_pairs, pair, write_jsonl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from curate.cli import app
from curate.sources.files import read_files

runner = CliRunner()
BOM = b"\xef\xbb\xbf"


def build(*args: str):
    return runner.invoke(app, ["build", "--decontaminate", "none", *args])


def build_error(source, tmp_path, *extra: str, exit_code: int = 3) -> str:
    result = build("--source", str(source), "--out", str(tmp_path / "out"), *extra)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert result.exit_code == exit_code, result.output
    assert "Traceback" not in result.output
    assert not (tmp_path / "out").exists()
    return result.stderr


def build_report(source, tmp_path, *extra: str) -> dict:
    result = build("--source", str(source), "--out", str(tmp_path / "out"), "--json", *extra)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def messages(answer) -> list[dict]:
    return [{"role": "user", "content": "What is 2 + 3?"}, {"role": "assistant", "content": answer}]


def test_utf8_bom_at_the_start_is_read(tmp_path):
    rows = distinct_pairs(3)
    jsonl = tmp_path / "x.jsonl"
    jsonl.write_bytes(BOM + "".join(json.dumps(r) + "\n" for r in rows).encode())
    array = tmp_path / "x.json"
    array.write_bytes(BOM + json.dumps(rows).encode())
    for path in (jsonl, array):
        frame = read_files([path]).frame
        assert frame["instruction"].to_list() == [r["instruction"] for r in rows]


def test_lone_surrogate_names_file_line_and_column(tmp_path):
    path = tmp_path / "x.jsonl"
    good = json.dumps(pair())
    path.write_text(f'{good}\n\n{good[:-1]}, "note": "caf\\ud800"}}\n')
    error = build_error(path, tmp_path)
    assert f"{path}, line 3: column 'note'" in error
    assert "lone surrogate" in error and "expected valid Unicode text" in error


def test_lone_surrogate_in_a_message_list_names_the_json_item(tmp_path):
    path = tmp_path / "x.json"
    path.write_text(json.dumps([pair(chosen=messages("5")), pair(chosen=messages("\ud800"))]))
    error = build_error(path, tmp_path)
    assert f"{path}, item 1: column 'chosen_response'" in error and "lone surrogate" in error


def test_paired_surrogate_escapes_are_text(tmp_path):
    path = tmp_path / "x.jsonl"
    path.write_text(json.dumps(pair(chosen="2 + 3 = 5 \U0001f600"), ensure_ascii=True) + "\n")
    assert read_files([path]).frame["chosen_response"].to_list() == ["2 + 3 = 5 \U0001f600"]


@pytest.mark.parametrize("suffix", [".jsonl", ".json"])
def test_deeply_nested_json_names_the_line(tmp_path, suffix):
    deep = "[" * 100_000 + "]" * 100_000
    path = tmp_path / f"x{suffix}"
    good = json.dumps(pair())
    rows = f'{good}\n{{"chosen": {deep}}}\n'
    path.write_text(rows if suffix == ".jsonl" else f"[\n{good},\n{{'chosen': {deep}}}]".replace("'", '"'))
    error = build_error(path, tmp_path)
    assert f"{path}, line {2 if suffix == '.jsonl' else 3}: JSON nested too deeply" in error


def test_text_column_mixing_numbers_and_text_names_the_rows(tmp_path):
    rows = [pair(chosen=5 if i in (1, 3) else f"{i} + {i} = {2 * i}.") for i in range(5)]
    path = write_jsonl(tmp_path / "x.jsonl", rows)
    error = build_error(path, tmp_path)
    assert "'chosen_response' (chosen) must hold text" in error
    assert f"row 1 ({path}, line 2): 5" in error and f"row 3 ({path}, line 4): 5" in error


def test_text_column_holding_numbers_in_one_file_of_several(tmp_path):
    folder = tmp_path / "src"
    folder.mkdir()
    write_jsonl(folder / "train-00000-of-00002.jsonl", distinct_pairs(2))
    write_jsonl(folder / "train-00001-of-00002.jsonl", [pair(rejected=7), pair(rejected=8)])
    error = build_error(folder, tmp_path)
    assert "'rejected_response' (rejected) must hold text, but 2 of its rows hold numbers" in error
    assert "row 2 (" in error and "train-00001-of-00002.jsonl, line 1): 7" in error


def test_rating_mixing_numbers_and_text_still_reaches_validation(tmp_path):
    rows = distinct_pairs(4)
    rows[2]["chosen_rating"] = "high"
    report = build_report(write_jsonl(tmp_path / "x.jsonl", rows), tmp_path)
    assert report["dropped"] == {"non_numeric_rating": 1}


@pytest.mark.parametrize(
    ("odd", "described"),
    [
        (["2 + 3 = 5."], 'a list of strings ["2 + 3 = 5."]'),
        ([{"role": "assistant", "content": ["5"]}], "a list of objects {content: a list of strings, role: string}"),
    ],
)
def test_message_list_with_one_odd_row_names_that_row(tmp_path, odd, described):
    rows = [pair(chosen=messages(f"{i}")) for i in range(4)]
    rows[2]["chosen_response"] = odd
    path = write_jsonl(tmp_path / "x.jsonl", rows)
    error = " ".join(build_error(path, tmp_path).split())  # the CLI wraps long lines
    assert f"{path}, line 3: column 'chosen_response' holds {described}" in error
    assert "expected a list of messages like the other rows" in error


def test_long_odd_value_is_shortened(tmp_path):
    rows = [pair(chosen=messages("5")), pair(chosen=messages("5")), pair(chosen=["x" * 500])]
    error = " ".join(build_error(write_jsonl(tmp_path / "x.jsonl", rows), tmp_path).split())
    assert 'a list of strings ["xxx' in error and "x" * 61 not in error


def test_folder_with_only_another_splits_file_is_refused(tmp_path):
    folder = tmp_path / "src" / "data"
    folder.mkdir(parents=True)
    write_jsonl(folder / "validation-00000-of-00001.jsonl", distinct_pairs(3))
    error = " ".join(build_error(tmp_path / "src", tmp_path).split())
    assert "no file names the split 'train'" in error and "validation-00000-of-00001.jsonl" in error
    assert "--split validation" in error
    assert build_report(tmp_path / "src", tmp_path, "--split", "validation")["rows_in"] == 3


@pytest.mark.parametrize("name", ["test.jsonl", "dev/rows.jsonl"])
def test_lone_file_named_for_another_split_is_refused(tmp_path, name):
    path = tmp_path / "src" / name
    path.parent.mkdir(parents=True)
    write_jsonl(path, distinct_pairs(3))
    assert "no file names the split 'train'" in build_error(tmp_path / "src", tmp_path)


def test_lone_file_with_a_neutral_name_is_read(tmp_path):
    (tmp_path / "src").mkdir()
    write_jsonl(tmp_path / "src" / "data.jsonl", distinct_pairs(3))
    assert build_report(tmp_path / "src", tmp_path)["rows_in"] == 3


def test_dev_null_is_not_a_regular_file(tmp_path):
    error = " ".join(build_error("/dev/null", tmp_path).split())
    assert "/dev/null: not a regular file (it is a character device)" in error
    assert "expected a parquet, JSON or JSONL file" in error


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes are POSIX")
def test_fifo_is_refused_before_reading(tmp_path):
    fifo = tmp_path / "rows.jsonl"
    os.mkfifo(fifo)  # opening it to read would wait for a writer forever
    assert f"{fifo}: not a regular file (it is a named pipe)" in " ".join(build_error(fifo, tmp_path).split())


@pytest.mark.parametrize("name", ["empty.parquet", "empty.jsonl", "empty.json"])
def test_a_file_without_rows_gets_one_answer(tmp_path, name):
    path = tmp_path / name
    if name.endswith(".parquet"):
        pl.DataFrame([pair()]).head(0).write_parquet(path)
    else:
        path.write_text("[]" if name.endswith(".json") else "")
    assert f"{path}: no rows (the file is empty)" in build_error(path, tmp_path)


@pytest.mark.parametrize("dataset", ["bad id!!", "a/b/c"])
def test_invalid_hub_id_is_a_config_error(tmp_path, dataset):
    result = build("--dataset", dataset, "--out", str(tmp_path / "out"))
    assert result.exit_code == 2, result.output
    error = " ".join(result.stderr.split())
    assert f"dataset {dataset!r} is not a valid Hub dataset id" in error and "owner/name" in error
    assert "Traceback" not in result.output and not (tmp_path / "out").exists()


VALUES = st.one_of(
    st.none(),
    st.text(max_size=8),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.booleans(),
    st.lists(st.none() | st.text(max_size=4) | st.integers(), max_size=3),
    st.lists(st.fixed_dictionaries({"role": st.just("user"), "content": st.none() | st.text(max_size=4)}), max_size=2),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(st.dictionaries(st.sampled_from(["prompt", "chosen", "n\u00e9"]), VALUES), min_size=1, max_size=5))
def test_polars_reads_json_as_the_careful_reader_does_or_leaves_it_to_it(tmp_path, rows):
    """The fast JSONL reader (polars') answers only where it gives the careful reader's frame exactly."""
    from curate.errors import InputError
    from curate.sources import files

    path = tmp_path / "x.jsonl"
    path.write_text("\n".join(json.dumps(row, ensure_ascii=False) for row in rows), encoding="utf-8")
    fast = files._read_plain_jsonl(path)
    if fast is None:
        return
    try:
        careful = files._rows_to_frame(files._read_jsonl(path), str, path)
    except InputError as error:
        raise AssertionError(f"polars read what the careful reader refuses: {error}") from None
    assert fast.frame.schema == careful.frame.schema and fast.frame.equals(careful.frame)
    assert not careful.numbers


def test_a_clean_file_takes_the_fast_reader_and_a_mixed_one_does_not(tmp_path):
    from curate.sources import files

    rows = [pair(f"Q{i}?", chosen_rating=8.5, rejected_rating=2.0) for i in range(5)]
    clean, mixed = tmp_path / "clean.jsonl", tmp_path / "mixed.jsonl"
    write_jsonl(clean, rows)
    write_jsonl(mixed, [*rows, pair("Q?", chosen_rating="high")])  # a rating as text: the careful reader's case
    fast = files._read_plain_jsonl(clean)
    assert fast is not None and fast.frame.equals(files._rows_to_frame(files._read_jsonl(clean), str, clean).frame)
    assert files._read_plain_jsonl(mixed) is None
