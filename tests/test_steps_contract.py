"""The step registry is the one list of steps: the pipeline holds each step to its declaration, and every copy
of the list (README table, CLI progress labels, JSON Schema enums, the card) is held to the registry."""

from __future__ import annotations

import dataclasses
import json

import jsonschema
import polars as pl
import pytest
from conftest import BENCHMARK_SAMPLE, REPO, SAMPLE, distinct_pairs, pair
from typer.testing import CliRunner

import curate.pipeline
from curate.cli import _STAGES, app
from curate.config import Recipe
from curate.eval_sets import Benchmark
from curate.output import DROPPED_COLUMNS
from curate.pipeline import StepContext, StepContractError, run_pipeline
from curate.sources.columns import DISTILABEL_COLUMNS, to_canonical
from curate.steps import ANSWER_COLUMNS, KEYS, REASONS, REFERENCE_COLUMNS, STEPS, Annotation
from curate.steps.decontaminate import contamination_report

BENCH_ITEM = "Natalia sold clips to 48 of her friends in April and then half as many in May"


def canonical(rows: list[dict]) -> pl.DataFrame:
    return to_canonical(pl.DataFrame(rows, strict=False), DISTILABEL_COLUMNS, "test")


def step(name: str):
    return next(s for s in STEPS if s.name == name)


def with_step(monkeypatch, name: str, **changes) -> None:
    """Run the pipeline with one step's declaration changed."""
    changed = tuple(dataclasses.replace(s, **changes) if s.name == name else s for s in STEPS)
    monkeypatch.setattr(curate.pipeline, "STEPS", changed)


# --- the pipeline holds each step to its declaration


def test_a_step_reading_an_undeclared_column_fails(monkeypatch):
    reads = tuple(c for c in step("validate").reads if c != "prompt_blank")
    with_step(monkeypatch, "validate", reads=reads)
    with pytest.raises(StepContractError, match="validate reads a column it does not declare.*prompt_blank"):
        run_pipeline(canonical(distinct_pairs(3)), Recipe(), has_ratings=True)


def test_an_annotation_reading_an_undeclared_column_fails(monkeypatch):
    monkeypatch.setattr(curate.pipeline, "KEYS", dataclasses.replace(KEYS, reads=("prompt", "chosen", "rejected")))
    with pytest.raises(StepContractError, match="with_keys reads a column it does not declare"):
        run_pipeline(canonical(distinct_pairs(3)), Recipe(), has_ratings=True)


def test_an_annotation_adding_an_undeclared_column_fails(monkeypatch):
    annotate = dataclasses.replace(step("length").annotate, adds=("prompt_len", "chosen_len"))
    with_step(monkeypatch, "length", annotate=annotate)
    with pytest.raises(StepContractError, match="with_lengths added"):
        run_pipeline(canonical(distinct_pairs(3)), Recipe(), has_ratings=True)


def test_a_step_giving_an_undeclared_reason_fails(monkeypatch):
    with_step(monkeypatch, "preference", reasons=step("preference").reasons[1:])
    with pytest.raises(
        StepContractError, match=r"preference gave reasons it does not declare: \['identical_responses'"
    ):
        run_pipeline(canonical([pair(chosen="same", rejected="same")]), Recipe(), has_ratings=True)


def test_a_step_returning_undeclared_columns_fails(monkeypatch):
    with_step(monkeypatch, "decontaminate", carries=())
    benchmarks = [Benchmark("evals", [BENCH_ITEM])]
    with pytest.raises(StepContractError, match="decontaminate returned the columns"):
        run_pipeline(canonical(distinct_pairs(3)), Recipe(), has_ratings=True, benchmarks=benchmarks)


def test_every_column_a_step_reads_is_made_before_it():
    available = {*canonical(distinct_pairs(1)).columns, *KEYS.adds}
    assert set(KEYS.reads) <= available - set(KEYS.adds)
    for declared in STEPS:
        if declared.annotate:
            assert set(declared.annotate.reads) <= available, declared.name
            available |= set(declared.annotate.adds)
        assert set(declared.reads) <= available, declared.name
        assert not set(declared.carries) & available, declared.name  # they would clash in the dropped frame


def test_declared_sections_and_context_fields_exist():
    sections = {info.alias or name for name, info in Recipe.model_fields.items()}
    fields = {f.name for f in dataclasses.fields(StepContext)}
    declared: list[Annotation] = [KEYS, *(s.annotate for s in STEPS if s.annotate)]
    for item in [*STEPS, *declared]:
        assert set(item.config) <= sections and set(item.context) <= fields, item
        assert callable(item.resolve())
    assert all(s.runs_with in (None, *fields) for s in STEPS)


def test_reasons_are_unique_snake_case_one_line_meanings():
    names = [reason.name for s in STEPS for reason in s.reasons]
    assert len(names) == len(set(names)) == len(REASONS)
    for s in STEPS:
        for reason in s.reasons:
            assert reason.name.isidentifier() and reason.name.islower(), reason
            assert reason.meaning and "\n" not in reason.meaning, reason


# --- contamination matches are data


def test_contamination_matches_travel_as_columns_and_detail_spells_them_out():
    rows = [*distinct_pairs(3), pair(instruction=f"{BENCH_ITEM}. How many?"), pair(chosen=f"So: {BENCH_ITEM}")]
    benchmarks = [Benchmark("other", ["an item that nothing here contains at all"]), Benchmark("gsm", [BENCH_ITEM])]
    result = run_pipeline(canonical(rows), Recipe(), has_ratings=True, benchmarks=benchmarks)
    matches = result.dropped.filter(pl.col("reason") == "contaminated")
    assert matches.select("row", "benchmark", "item", "text").rows() == [
        (3, "gsm", 0, "prompt"),
        (4, "gsm", 0, "chosen"),
    ]
    assert matches["detail"].to_list() == ["gsm item 0 in prompt", "gsm item 0 in chosen"]
    counts = [
        (entry["pairs_dropped"], entry["items_matched"]) for entry in contamination_report(benchmarks, result.dropped)
    ]
    assert counts == [(0, 0), (2, 1)]


# --- the copies of the registry


def test_readme_drop_reason_table_is_the_registry():
    lines = (REPO / "README.md").read_text(encoding="utf-8").splitlines()
    start = lines.index("| step | reason | dropped when |") + 2
    documented = lines[start : lines.index("", start)]
    expected = [
        f"| {s.name} | `{reason.name}` | {reason.meaning.replace('|', chr(92) + '|')} |"
        for s in STEPS
        for reason in s.reasons
    ]
    assert documented == expected, "README's drop-reason table differs from curate/steps: paste\n" + "\n".join(expected)


def test_readme_layout_names_every_step_module():
    layout = (REPO / "README.md").read_text(encoding="utf-8").split("## Layout", 1)[1]
    for s in STEPS:
        assert f"{s.name}.py" in layout, s.name


def test_cli_progress_labels_are_the_steps_labels_between_load_and_render():
    assert list(_STAGES) == ["load", *(s.name for s in STEPS), "render", "write"]
    assert all(_STAGES[s.name] == s.label for s in STEPS)


def test_dropped_row_schema_enums_are_the_registry():
    schema = json.loads((REPO / "schemas" / "dropped-row.schema.json").read_text(encoding="utf-8"))
    assert schema["properties"]["step"]["enum"] == [s.name for s in STEPS]
    assert schema["properties"]["reason"]["enum"] == list(REASONS)


@pytest.fixture(scope="module")
def length_bias_build(tmp_path_factory):
    """The shipped sample with the length-bias rule and the answer checks against references on: every step drops
    rows (answers 52 as rejected_correct, length 193 as length_bias)."""
    out = tmp_path_factory.mktemp("bias") / "out"
    command = ["build", "--source", str(SAMPLE), "--decontaminate", str(BENCHMARK_SAMPLE), "--out", str(out)]
    command += ["--reference", str(REPO / "data" / "sample-references.jsonl")]
    result = CliRunner().invoke(app, [*command, "--max-chosen-longer-share", "0.5"])
    assert result.exit_code == 0, result.output
    return out


def test_every_dropped_row_of_a_build_validates_against_the_schema(length_bias_build):
    schema = json.loads((REPO / "schemas" / "dropped-row.schema.json").read_text(encoding="utf-8"))
    dropped = pl.read_parquet(length_bias_build / "dropped" / "*.parquet")
    # the match columns decontaminate carries are not written; the answer columns are (the checks are on)
    assert dropped.columns == [*DROPPED_COLUMNS, *ANSWER_COLUMNS, *REFERENCE_COLUMNS]
    assert set(dropped["step"]) == {s.name for s in STEPS}
    validator = jsonschema.Draft202012Validator(schema)
    for row in dropped.iter_rows(named=True):
        validator.validate(row)


def test_the_card_explains_each_reason_with_the_registry_meaning(length_bias_build):
    card = (length_bias_build / "README.md").read_text(encoding="utf-8")
    report = json.loads((length_bias_build / "report.json").read_text(encoding="utf-8"))
    shown = [(entry["step"], reason) for entry in report["steps"] for reason in entry["dropped"]]
    assert {s for s, _ in shown} == {s.name for s in STEPS}
    for name, reason in shown:
        assert f"| {name} | `{reason}`: {REASONS[reason]} |" in card
