"""The bad-input corpus (tests/corpus/cases.yaml) and arbitrary JSON through `curate build`: every input ends in
a report whose rows add up, or in one `Error:` line with the exit code README's table gives its kind; never a
traceback."""

from __future__ import annotations

import json
import os
import re
import shutil
import threading
from pathlib import Path

import pytest
import yaml
from conftest import REPO, distinct_pairs, pair, write_jsonl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from curate import errors
from curate.cli import app

CORPUS = REPO / "tests" / "corpus"
CASES = yaml.safe_load((CORPUS / "cases.yaml").read_text(encoding="utf-8"))
runner = CliRunner()


def exit_code_table() -> dict[str, int]:
    """README's exit-code table: error kind -> exit code."""
    section = (REPO / "README.md").read_text(encoding="utf-8").split("## Errors and exit codes")[1].split("\n## ")[0]
    rows = re.findall(r"^\| (\d+) \| `(\w+)` \|", section, flags=re.MULTILINE)
    return {name: int(code) for code, name in rows}


EXIT_CODES = exit_code_table()


def test_readme_exit_code_table_is_the_error_kinds():
    kinds = [errors.CurateError, *errors.CurateError.__subclasses__()]
    assert {kind.__name__: kind.exit_code for kind in kinds} == EXIT_CODES


def test_every_case_expects_a_documented_kind():
    assert {case["expect"] for case in CASES.values()} - {"ok"} <= set(EXIT_CODES)


def build(args: list[str]):
    """`curate build ... --json` in this process; the result, after checking no exception escaped."""
    result = runner.invoke(app, ["build", *args, "--json"])
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.output
    return result


def assert_accounted(result) -> dict:
    report = json.loads(result.stdout)
    assert report["rows_in"] == report["rows_kept"] + report["rows_dropped"]
    assert report["rows_dropped"] == sum(report["dropped"].values())
    assert report["rows_kept"] == sum(report["splits"].values())
    return report


def assert_error(result, kind: str, says: str | None = None) -> None:
    assert result.exit_code == EXIT_CODES[kind], result.output
    errors_said = [line for line in result.stderr.splitlines() if line.startswith("Error: ")]
    assert len(errors_said) == 1, result.stderr
    assert says is None or says in result.stderr, result.stderr


@pytest.mark.parametrize("name", list(CASES))
def test_corpus_case(name, tmp_path, monkeypatch):
    case = CASES[name]
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    out = tmp_path / "out"
    args = [arg.replace("{corpus}", str(CORPUS)) for arg in case.get("args", [])]
    if "--decontaminate" not in args:
        args += ["--decontaminate", "none"]
    if "source" in case:
        args += ["--source", _source(case["source"], tmp_path)]
    untouched = SETUPS[case["setup"]](out, args, monkeypatch) if "setup" in case else None
    if "--out" not in args:
        args += ["--out", str(out)]
    result = build(args)
    if case["expect"] == "ok":
        assert result.exit_code == 0, result.output
        assert assert_accounted(result)["dropped"] == case["dropped"]
    else:
        assert_error(result, case["expect"], case.get("says"))
    if untouched:
        untouched()


def _source(source: str, tmp_path: Path) -> str:
    if source == "{fifo}":
        return str(_fifo(tmp_path / "pipe.jsonl"))
    return source if source.startswith("/") else str(CORPUS / source)


def _fifo(path: Path) -> Path:
    """A named pipe with a writer that closes at once, so a reader that opens it gets an empty file rather
    than hanging the suite."""
    os.mkfifo(path)

    def close_soon() -> None:
        with open(path, "wb"):
            pass

    threading.Thread(target=close_soon, daemon=True).start()
    return path


def _foreign_report(out: Path, args: list[str], monkeypatch):
    """`out` holds someone's own report.json beside their work: refused, every file untouched."""
    (out / "src").mkdir(parents=True)
    files = {"report.json": '{"total": 3}', "thesis.txt": "years of work", "src/main.py": "print(1)"}
    for name, text in files.items():
        (out / name).write_text(text)

    def untouched() -> None:
        assert {name: (out / name).read_text() for name in files} == files

    return untouched


def _source_is_out(out: Path, args: list[str], monkeypatch):
    """A finished build used as the source of a build into the same folder: refused, the build untouched."""
    args += ["--source", str(out)]
    return _unchanged(out)


def _cwd_is_out(out: Path, args: list[str], monkeypatch):
    """`--out .` inside a previous build: replacing the current folder would leave the shell in a deleted one."""
    untouched = _unchanged(out)
    monkeypatch.chdir(out)
    args += ["--out", "."]
    return untouched


def _unchanged(out: Path):
    """Build into `out` first; the check that the refused build left that build as it was."""
    done = build(["--source", str(CORPUS / "valid.jsonl"), "--out", str(out), "--decontaminate", "none"])
    assert done.exit_code == 0, done.output
    before = _contents(out)

    def untouched() -> None:
        assert _contents(out) == before

    return untouched


def _contents(folder: Path) -> dict[Path, bytes]:
    return {path: path.read_bytes() for path in sorted(folder.rglob("*")) if path.is_file()}


SETUPS = {"foreign_report": _foreign_report, "source_is_out": _source_is_out, "cwd_is_out": _cwd_is_out}


def test_every_corpus_file_has_a_case():
    named = {Path(case["source"]).parts[0] for case in CASES.values() if "source" in case}
    named |= {Path(arg).name for case in CASES.values() for arg in case.get("args", []) if "{corpus}/" in arg}
    present = {path.name for path in CORPUS.iterdir()} - {"cases.yaml"}
    assert present <= named


# Arbitrary JSON values in every source column: any type, any Unicode (lone surrogates included, as JSON's
# \ud800 escapes), huge and tiny numbers, NaN and infinities, nested lists and objects.
JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**30), max_value=10**30)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(st.characters(codec=None), max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=6,
)
COLUMNS = list(pair())


@st.composite
def source_rows(draw) -> list[dict]:
    """Good rows with some fields replaced by arbitrary JSON values."""
    rows = distinct_pairs(draw(st.integers(1, 4)))
    for row in rows:
        for column in draw(st.lists(st.sampled_from(COLUMNS), max_size=3, unique=True)):
            row[column] = draw(JSON_VALUES)
    return rows


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=source_rows())
def test_arbitrary_json_values_in_every_column(rows, tmp_path):
    source = tmp_path / "source.jsonl"
    source.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    out = tmp_path / "out"
    shutil.rmtree(out, ignore_errors=True)
    result = build(["--source", str(source), "--out", str(out), "--decontaminate", "none"])
    if result.exit_code in (0, EXIT_CODES["NoPairsError"]):
        assert assert_accounted(result)["rows_in"] == len(rows)
    else:
        assert result.exit_code in {EXIT_CODES["InputError"], EXIT_CODES["ConfigError"]}, result.output
        assert_error(result, next(k for k, code in EXIT_CODES.items() if code == result.exit_code))


def test_a_good_row_beside_bad_values_is_kept(tmp_path):
    """The property above must see builds succeed too: bad ratings drop only their rows."""
    rows = [*distinct_pairs(3), pair("Odd?", chosen_rating=float("inf")), pair("Odder?", rejected_rating="n/a")]
    source = write_jsonl(tmp_path / "s.jsonl", rows)
    result = build(["--source", str(source), "--out", str(tmp_path / "o"), "--decontaminate", "none"])
    assert result.exit_code == 0, result.output
    assert assert_accounted(result)["dropped"] == {"non_numeric_rating": 2}
