"""The typed report: report.json is `Report.to_json()`, validates against schemas/report.schema.json, and
`verify_build` reads it back only while the folder is what it describes. The library API is `curate.build`."""

from __future__ import annotations

import json
import subprocess
import sys

import jsonschema
import pytest
from conftest import BENCHMARK_SAMPLE, REPO, SAMPLE

import curate
from curate.errors import InputError
from curate.output import verify_build
from curate.report import SPLITS, HubSource, LocalContamination, Report
from curate.steps import REASONS, STEPS


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    out = tmp_path_factory.mktemp("report") / "out"
    recipe = curate.load_recipe(
        overrides={"source.path": str(SAMPLE), "decontaminate.benchmarks": [str(BENCHMARK_SAMPLE)]}
    )
    return out, curate.build(recipe, out)


def test_build_returns_the_report_it_wrote(built):
    out, report = built
    assert isinstance(report, Report)
    assert (out / "report.json").read_text(encoding="utf-8") == report.to_json()
    assert verify_build(out) == report


def test_report_json_validates_against_the_published_schema(built):
    out, _ = built
    schema = json.loads((REPO / "schemas/report.schema.json").read_text())
    jsonschema.validate(json.loads((out / "report.json").read_text()), schema)
    broken = {**json.loads((out / "report.json").read_text()), "rows_kept": "many"}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(broken, schema)


def test_the_schema_names_every_step_and_reason_of_the_registry():
    schema = json.loads((REPO / "schemas/report.schema.json").read_text())
    assert schema["$defs"]["StepFunnel"]["properties"]["step"]["enum"] == [step.name for step in STEPS]
    assert schema["properties"]["dropped"]["propertyNames"]["enum"] == list(REASONS)
    assert schema["properties"]["splits"]["propertyNames"]["enum"] == list(SPLITS)


def test_report_parts_are_typed(built):
    _, report = built
    assert report.source.kind == "local" and report.recipe.source.path == str(SAMPLE)
    assert [step.step for step in report.steps] == [step.name for step in STEPS if step.name != "answers"]  # off
    assert report.steps[-1].rows_out == report.rows_kept == sum(report.splits.values())
    [bench] = report.decontamination
    assert isinstance(bench, LocalContamination) and bench.items == 13 and bench.pairs_dropped == 4
    assert report.lengths.unit == "characters" and set(report.lengths.splits) == set(SPLITS)
    assert {name for name in report.files} == {
        "data/train-00000-of-00001.parquet",
        "data/test-00000-of-00001.parquet",
        "dropped/dropped-00000-of-00001.parquet",
    }


def test_numbers_keep_their_json_types(built):
    # report.json is compared byte for byte across versions: whole medians stay 150.0, counts stay ints.
    out, _ = built
    on_disk = json.loads((out / "report.json").read_text())
    train = on_disk["lengths"]["splits"]["train"]
    assert isinstance(train["prompt"]["min"], int) and isinstance(train["prompt"]["median"], float)
    assert isinstance(on_disk["recipe"]["preference"]["min_rating_gap"], float)


def test_a_hub_source_and_a_hub_benchmark_validate(built):
    _, report = built
    data = json.loads(report.to_json())
    columns = data["source"]["columns"]
    data["source"] = {
        "kind": "hub", "dataset": "a/b", "revision": "main", "sha": "0" * 40, "split": "train",
        "license": None, "files": [{"path": "data/train.parquet", "sha256": "1" * 64}], "columns": columns,
    }  # fmt: skip
    bench = {k: v for k, v in data["decontamination"][0].items() if k not in ("path", "sha256")}
    data["decontamination"] = [{**bench, "dataset": "openai/gsm8k", "config": "main", "split": "test",
                                "revision": None, "sha": None}]  # fmt: skip
    hub = Report.model_validate(data)
    assert isinstance(hub.source, HubSource) and hub.decontamination[0].dataset == "openai/gsm8k"
    jsonschema.validate(data, json.loads((REPO / "schemas/report.schema.json").read_text()))


def test_verify_build_refuses_a_report_that_is_not_a_curate_report(built, tmp_path):
    out, report = built
    folder = tmp_path / "copy"
    folder.mkdir()
    data = json.loads(report.to_json())
    del data["lengths"]
    (folder / "report.json").write_text(json.dumps(data))
    with pytest.raises(InputError, match=r"not a curate build report \(lengths: Field required\)"):
        verify_build(folder)
    (folder / "report.json").write_bytes(b"\xff not json")
    with pytest.raises(InputError, match="not a curate build report"):
        verify_build(folder)


def test_verify_build_refuses_changed_files(built, tmp_path):
    out, report = built
    copy = tmp_path / "copy"
    (copy / "data").mkdir(parents=True)
    (copy / "report.json").write_text(report.to_json())
    for name in report.files:
        (copy / name).parent.mkdir(parents=True, exist_ok=True)
        (copy / name).write_bytes((out / name).read_bytes())
    assert verify_build(copy) == report
    (copy / "data/test-00000-of-00001.parquet").write_bytes(b"changed")
    with pytest.raises(InputError, match="test-00000-of-00001.parquet no longer matches its hash"):
        verify_build(copy)


def test_the_library_api_is_lazy():
    code = "import sys, curate; print(sorted(m for m in ('polars', 'pydantic', 'curate.builder') if m in sys.modules))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
    assert curate.build.__module__ == "curate.builder" and curate.Report is Report
    with pytest.raises(AttributeError):
        curate.no_such_name  # noqa: B018
