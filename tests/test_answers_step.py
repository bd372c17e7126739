"""The answers step (issue 13) wired into the build: drop reasons, references, outputs, report, card and CLI."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import polars as pl
import pytest
from conftest import REPO, SAMPLE, pair, write_jsonl
from typer.testing import CliRunner

from curate.builder import build
from curate.cli import app
from curate.config import load_recipe
from curate.output import DROPPED_COLUMNS, verify_build
from curate.steps import ANSWER_COLUMNS, REFERENCE_COLUMNS

pytest.importorskip("math_verify")

RIGHT, WRONG = "Adding them gives 5. The answer is 5.", "Adding them gives 6. The answer is 6."
NO_ANSWER = "It depends on how you look at it; there are several ways to think about sums."


def rows_of(folder: Path, prefix: str) -> pl.DataFrame:
    return pl.concat([pl.read_parquet(p) for p in sorted((folder / prefix).parent.glob(f"{Path(prefix).name}-*"))])


def dropped_of(folder: Path) -> pl.DataFrame:
    return rows_of(folder, "dropped/dropped")


def kept_of(folder: Path) -> pl.DataFrame:
    tests = [rows_of(folder, "data/test")] if any(folder.glob("data/test-*")) else []
    return pl.concat([rows_of(folder, "data/train"), *tests])


def run(tmp_path: Path, rows: list[dict], name: str = "out", **overrides) -> Path:
    (tmp_path / f"src-{name}").mkdir()
    source = write_jsonl(tmp_path / f"src-{name}" / "pairs.jsonl", rows)
    settings = {"source.path": str(source), "decontaminate.benchmarks": [], "split.test_size": 0.0, **overrides}
    build(load_recipe(overrides=settings), tmp_path / name)
    return tmp_path / name


def with_reference(question: str, chosen: str, rejected: str, reference: str | None) -> dict:
    return {"prompt": question, "chosen": chosen, "rejected": rejected, "answer": reference}


COLUMNS = {"prompt": "prompt", "chosen": "chosen", "rejected": "rejected", "reference": "answer"}


# --- each drop reason, in rule order; undetermined never drops


def test_each_reason_with_a_reference_column(tmp_path):
    rows = [
        with_reference("What is 2 + 3?", WRONG, RIGHT, "5"),  # chosen wrong (and rejected right): the first rule
        with_reference("What is 1 + 4?", NO_ANSWER, RIGHT, "5"),  # rejected right
        with_reference("What is 0 + 5?", RIGHT, WRONG, "5"),  # the pair teaches the right answer: kept
        with_reference("What is 5 + 0?", NO_ANSWER, "Sums are a matter of taste, really.", "5"),  # undetermined: kept
        with_reference("What is 3 + 2?", RIGHT, WRONG, None),  # no reference for this prompt: kept
        with_reference("What is 4 + 1?", RIGHT, "I think 5. The answer is 5.", "5"),  # both right: rejected_correct
    ]
    out = run(tmp_path, rows, **{"source.columns": COLUMNS, "answers.enabled": True})
    dropped = dropped_of(out).sort("source_row")
    reasons = [(0, "chosen_incorrect"), (1, "rejected_correct"), (5, "rejected_correct")]
    assert dropped.select("source_row", "reason").rows() == reasons
    assert dropped["detail"].to_list() == [
        "chosen 6 / rejected 5 (different); reference 5",
        "chosen none / rejected 5 (undetermined); reference 5",
        "chosen 5 / rejected 5 (same); reference 5",
    ]
    kept = kept_of(out).sort("source_row")
    assert kept["source_row"].to_list() == [2, 3, 4]
    assert kept["chosen_correct"].to_list() == ["correct", "undetermined", "undetermined"]
    assert kept["answer_agreement"].to_list() == ["different", "undetermined", "different"]
    assert kept["reference_answer"].to_list() == ["5", "5", None]


def test_same_final_answer_only_when_asked(tmp_path):
    rows = [pair("What is 2 + 3?", RIGHT, "So 2 + 3 = 5."), pair("What is 2 + 4?", "The answer is 6.", RIGHT)]
    kept_all = run(tmp_path, rows, "a", **{"answers.enabled": True})
    assert kept_of(kept_all)["answer_agreement"].to_list() == ["same", "different"]
    asked = run(tmp_path, rows, "b", **{"answers.enabled": True, "answers.drop_same_final_answer": True})
    assert dropped_of(asked).select("source_row", "reason", "detail").rows() == [
        (0, "same_final_answer", "chosen 5 / rejected 5 (same)")
    ]
    assert "chosen_correct" not in kept_of(asked).columns  # no reference, no correctness columns


def test_the_correctness_rules_can_be_turned_off(tmp_path):
    rows = [with_reference("What is 2 + 3?", WRONG, RIGHT, "5")]
    off = {"answers.drop_chosen_incorrect": False, "answers.drop_rejected_correct": False}
    out = run(tmp_path, rows, **{"source.columns": COLUMNS, "answers.enabled": True, **off})
    assert kept_of(out)[["chosen_correct", "rejected_correct"]].row(0) == ("incorrect", "correct")


# --- a reference set joined on the normalised prompt, GSM8K's form


def test_reference_set_in_gsm8k_form_joins_on_the_normalised_prompt(tmp_path):
    reference = write_jsonl(
        tmp_path / "gsm.jsonl",
        [
            {"question": "What is 2 + 3?", "answer": "Two plus three is 2+3=5.\n#### 5"},
            {"question": "What is 7 + 1?", "answer": "7+1=8\n#### 8"},
            {"question": "What is 7 + 1?", "answer": "#### 9"},  # a second answer for a question: the first counts
        ],
    )
    rows = [
        pair("What  is 2 +\n3?", WRONG, RIGHT),  # other whitespace: the same normalised prompt
        pair("What is 7 + 1?", "So 7 + 1 = 8.", "7 + 1 = 9."),
        pair("What is 9 + 9?", RIGHT, WRONG),  # not in the set
    ]
    out = run(tmp_path, rows, **{"answers.reference": {"path": str(reference)}})  # a reference turns nothing on
    assert "chosen_answer" not in kept_of(out).columns
    out = run(tmp_path, rows, "on", **{"answers.enabled": True, "answers.reference": {"path": str(reference)}})
    assert dropped_of(out).select("source_row", "reason").rows() == [(0, "chosen_incorrect")]
    kept = kept_of(out).sort("source_row")
    assert kept["reference_answer"].to_list() == ["8", None]
    assert kept["chosen_correct"].to_list() == ["correct", "undetermined"]
    report = verify_build(out).answers
    assert report.reference.kind == "set" and report.reference.pairs == 2 and report.reference.questions == 2
    assert report.reference.question == "question" and report.reference.answer == "answer"
    assert report.chosen.model_dump() == {"correct": 1, "incorrect": 1, "undetermined": 1}
    assert report.kept.chosen_correct_share == 0.5


def test_reference_flag_reads_a_local_set(tmp_path):
    reference = write_jsonl(tmp_path / "ref.jsonl", [{"problem": "What is 2 + 3?", "solution": "\\boxed{5}"}])
    source = write_jsonl(tmp_path / "src.jsonl", [pair("What is 2 + 3?", WRONG, RIGHT), pair("What is 1 + 1?")])
    result = CliRunner().invoke(
        app, ["build", "--source", str(source), "--decontaminate", "none", "--reference", str(reference), "-o",
              str(tmp_path / "out"), "--test-size", "0"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert dropped_of(tmp_path / "out")["reason"].to_list() == ["chosen_incorrect"]


def test_both_reference_forms_at_once_is_a_recipe_error(tmp_path):
    from curate.errors import ConfigError

    with pytest.raises(ConfigError, match="keep one of them"):
        load_recipe(overrides={"source.columns": COLUMNS, "answers.reference": {"path": "ref.jsonl"}})


# --- the timeout path through a build


def test_an_answer_over_its_budget_is_undetermined_and_counted(tmp_path):
    deep = "The answer is $" + "(" * 20000 + "1" + ")" * 20000 + "$."
    rows = [pair("What is one?", deep, "The answer is $x$."), pair("What is 2 + 3?", RIGHT, WRONG)]
    overrides = {"answers.enabled": True, "answers.item_timeout": 0.5, "validate.max_chars": 100_000}
    out = run(tmp_path, rows, **overrides)
    assert kept_of(out).sort("source_row")["answer_agreement"].to_list() == ["undetermined", "different"]
    assert verify_build(out).answers.timeouts == 1


# --- off means off: no step, no cost, the same bytes


def test_off_the_step_does_not_run_and_the_files_are_the_same(tmp_path, monkeypatch):
    import curate.answers

    monkeypatch.setattr(curate.answers, "answer_columns", lambda *a, **k: pytest.fail("the answers step ran"))
    plain = run(tmp_path, [pair(), pair("What is 1 + 1?", "1 + 1 = 2.", "1 + 1 = 3.")], "plain")
    # A disabled section with other settings changes nothing either.
    tuned = run(tmp_path, [pair(), pair("What is 1 + 1?", "1 + 1 = 2.", "1 + 1 = 3.")], "tuned",
                **{"answers.workers": 1, "answers.drop_same_final_answer": True})  # fmt: skip
    assert files(plain, "plain") == files(tuned, "tuned")
    report = json.loads((plain / "report.json").read_text())
    assert "answers" not in report and "answers" not in report["recipe"]
    assert "reference" not in report["source"]["columns"]
    assert pl.read_parquet(plain / "dropped" / "dropped-00000-of-00001.parquet").columns == DROPPED_COLUMNS


def files(folder: Path, name: str) -> dict[str, bytes]:
    # report.json and the card name the source folder: the same file in another folder
    return {
        str(p.relative_to(folder)): p.read_bytes().replace(f"src-{name}".encode(), b"SOURCE")
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def test_two_builds_with_answers_are_identical(tmp_path):
    settings = {"source.path": str(SAMPLE), "answers.enabled": True, "answers.drop_same_final_answer": True}
    for name in ("a", "b"):
        build(load_recipe(overrides=settings), tmp_path / name)
    assert files(tmp_path / "a", "x") == files(tmp_path / "b", "x")


# --- outputs: columns, report, schema, card, conservation


@pytest.fixture(scope="module")
def answered(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("answers") / "curated"
    settings = {"source.path": str(SAMPLE), "answers.enabled": True, "answers.drop_same_final_answer": True}
    build(load_recipe(overrides=settings), out)
    return out


def test_splits_and_dropped_rows_carry_the_answer_columns(answered):
    assert kept_of(answered).columns[-3:] == list(ANSWER_COLUMNS)
    dropped = dropped_of(answered)
    assert dropped.columns == [*DROPPED_COLUMNS, *ANSWER_COLUMNS]
    before = dropped.filter(pl.col("step").is_in(["validate", "preference", "decontaminate", "dedup", "near_dedup"]))
    assert before.height and before["answer_agreement"].is_null().all()  # dropped before the step ran
    mine = dropped.filter(pl.col("step") == "answers")
    assert mine.height and (mine["answer_agreement"] == "same").all()
    assert not set(REFERENCE_COLUMNS) & set(dropped.columns)


def test_rows_add_up_and_the_report_validates(answered):
    report = verify_build(answered)
    assert report.rows_in == report.rows_kept + report.rows_dropped == 300
    answers = report.answers
    assert answers.pairs == sum(answers.agreement.model_dump().values())
    assert answers.kept.pairs == report.rows_kept and answers.kept.agreement.same == 0
    assert report.dropped["same_final_answer"] == answers.agreement.same
    schema = json.loads((REPO / "schemas" / "report.schema.json").read_text())
    jsonschema.validate(json.loads((answered / "report.json").read_text()), schema)
    row_schema = json.loads((REPO / "schemas" / "output-row.chatml.schema.json").read_text())
    for row in kept_of(answered).head(5).to_dicts():
        jsonschema.validate(row, row_schema)
    dropped_schema = json.loads((REPO / "schemas" / "dropped-row.schema.json").read_text())
    for row in dropped_of(answered).to_dicts():
        jsonschema.validate(row, dropped_schema)


def test_card_and_funnel_show_the_breakdown(answered):
    from rich.console import Console

    from curate.tables import funnel_table

    card = (answered / "README.md").read_text()
    assert "| `answer_agreement` |" in card and "| same |" in card and "Answer checks:" in card
    console = Console(width=200, record=True)
    console.print(funnel_table(verify_build(answered)))
    text = console.export_text()
    assert "same_final_answer" in text and "kept agreement" in text and "math-verify" in text


def test_answers_command_shows_each_state(answered, curated):
    result = CliRunner().invoke(app, ["answers", str(answered), "--per-state", "2"])
    assert result.exit_code == 0, result.output
    assert "same" in result.output and "different" in result.output and "->" in result.output
    refused = CliRunner().invoke(app, ["answers", str(curated)])
    assert refused.exit_code == 3 and "built without the answer checks" in refused.output


def test_answer_samples_read_the_extracted_spans(answered):
    from curate.answer_view import answer_samples

    samples = answer_samples(answered, per_state=2)
    assert [s.state for s in samples] == ["same", "same", "different", "different"]
    for sample in samples:
        assert sample.chosen_answer and sample.chosen_answer in sample.chosen_span
    assert samples == answer_samples(answered, per_state=2)


# --- TRL trains on a folder with the extra columns


def test_trl_trains_on_an_answers_build(answered, tiny, tmp_path):
    pytest.importorskip("trl", reason="training tests need the train extra")
    from test_train import FAST

    args = ["train", str(answered), "--model", str(tiny), "-o", str(tmp_path / "model"), *FAST]
    result = CliRunner().invoke(app, [*args, "--method", "full", "--max-steps", "2"])
    assert result.exit_code == 0, result.output
    metrics = [json.loads(line) for line in (tmp_path / "model" / "metrics.jsonl").read_text().splitlines()]
    assert any("loss" in m for m in metrics) and any("eval_loss" in m for m in metrics)
