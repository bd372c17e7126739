"""End to end: the shipped sample builds to the counts its author planted (data/sample_expected.json)."""

from __future__ import annotations

import json

import polars as pl
import pytest
from conftest import BENCHMARK_SAMPLE, REPO, SAMPLE
from typer.testing import CliRunner

from curate.cli import app
from curate.report import Report


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    out = tmp_path_factory.mktemp("sample") / "curated-sample"
    # README's main command: offline, decontaminated against the shipped benchmark-like sample
    command = ["build", "--source", str(SAMPLE), "--decontaminate", str(BENCHMARK_SAMPLE), "--out", str(out)]
    result = CliRunner().invoke(app, [*command, "--json"])
    assert result.exit_code == 0, result.output
    return out, Report.model_validate_json(result.stdout)


def test_sample_counts_match_the_planted_defects(built):
    _, report = built
    expected = json.loads((REPO / "data" / "sample_expected.json").read_text())
    assert report.rows_in == expected["rows"]
    assert report.rows_kept == expected["kept"]
    assert report.dropped == expected["dropped"]
    assert report.rows_kept + report.rows_dropped == report.rows_in
    assert sum(report.splits.values()) == report.rows_kept


def test_sample_dropped_rows_cover_every_input_row_once(built):
    out, report = built
    kept = pl.read_parquet(out / "data" / "*.parquet")["source_row"]
    dropped = pl.read_parquet(out / "dropped" / "*.parquet")["source_row"]
    assert sorted([*kept, *dropped]) == list(range(report.rows_in))


def test_sample_splits_share_no_prompt(built):
    out, _ = built
    train = set(pl.read_parquet(out / "data" / "train-*.parquet")["prompt"])
    test = set(pl.read_parquet(out / "data" / "test-*.parquet")["prompt"])
    assert test and not train & test


def test_sample_reports_clusters_and_contamination(built):
    _, report = built
    assert report.near_duplicates.clusters == 7 and report.near_duplicates.largest == 2
    [bench] = report.decontamination
    assert bench.name == "benchmark-sample.jsonl" and bench.pairs_dropped == 4 and bench.items_matched == 4
