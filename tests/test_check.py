"""`curate check`: planted token-level defects are found with the right kind and row, for a tokenizer that adds
a BOS (like Mistral/OpenHermes) and one that does not; a clean build passes."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest
from conftest import SAMPLE
from tiny_model import build_tokenizer, corpus
from typer.testing import CliRunner

from curate.checker import check_splits
from curate.cli import app

pytest.importorskip("transformers", reason="curate check needs transformers: pip install -e '.[train]'")

PROMPT = "<|im_start|>user\n{}<|im_end|>\n<|im_start|>assistant\n"


@pytest.fixture(scope="module", params=[True, False], ids=["with_bos", "no_bos"])
def tokenizer_dir(request, tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("tok") / ("bos" if request.param else "plain")
    build_tokenizer(corpus(SAMPLE), with_bos=request.param).save_pretrained(folder)
    return folder


def row(source_row: int, question="What is 2 + 3?", chosen="2 + 3 = 5.<|im_end|>", rejected="It is 6.<|im_end|>"):
    return {"prompt": PROMPT.format(question), "chosen": chosen, "rejected": rejected, "source_row": source_row}


def planted() -> list[dict]:
    return [
        row(0),
        {**row(1), "prompt": "<s>" + PROMPT.format("What is 2 + 3?")},  # literal BOS
        row(2, chosen="2 + 3 = 5.<|im_end|>\n"),  # TRL appends a second <|im_end|>
        row(3, rejected="Use <|im_start|> here.<|im_end|>"),  # control token inside content
        {
            **row(4),
            "prompt": PROMPT.format("Explain the ans")[: -len("<|im_end|>\n<|im_start|>assistant\n")] + "ans",
            "chosen": "wer: 5<|im_end|>",
            "rejected": "wer: 6<|im_end|>",
        },  # fmt: skip
        row(5, chosen="5 " * 400 + "<|im_end|>"),  # over max_length
        row(6),
    ]


def kinds_by_row(tokenizer_dir: Path, rows: list[dict], max_length=200) -> dict[int, set[str]]:
    from transformers import AutoTokenizer

    report = check_splits({"train": rows}, AutoTokenizer.from_pretrained(tokenizer_dir), "t", max_length)
    found: dict[int, set[str]] = {}
    for kind, finding in report.findings.items():
        assert len(finding.examples) == finding.count  # few enough to list them all here
        for example in finding.examples:
            found.setdefault(int(example.split(":")[1]), set()).add(kind)
    return found


def test_planted_defects_are_found_with_kind_and_row(tokenizer_dir):
    found = kinds_by_row(tokenizer_dir, planted())
    with_bos = tokenizer_dir.name == "bos"
    # A literal "<s>" is a double BOS for a BOS tokenizer, plain text for the other; either way the prompt
    # no longer matches the chat template.
    assert found[1] == ({"bos", "template_mismatch"} if with_bos else {"template_mismatch"})
    assert found[2] == {"eos"}
    assert found[3] == {"control_token"}
    assert found[4] >= {"prefix"}  # the merged prompt also no longer renders like the template
    assert found[5] == {"too_long"}
    assert 0 not in found and 6 not in found


def test_conversational_rows(tokenizer_dir):
    messages = {
        "prompt": [{"role": "user", "content": "What is 2 + 3?"}],
        "chosen": [{"role": "assistant", "content": "5"}],
        "rejected": [{"role": "assistant", "content": "6 <|im_end|> 7"}],
        "source_row": 0,
    }
    # This chat template (like OpenHermes-2.5's) renders no BOS, so a BOS tokenizer sees none on this path.
    missing_bos = {"bos"} if tokenizer_dir.name == "bos" else set()
    assert kinds_by_row(tokenizer_dir, [messages]) == {0: {"control_token", "eos", *missing_bos}}


def test_the_shipped_sample_build_passes(tokenizer_dir, curated):
    result = CliRunner().invoke(app, ["check", str(curated), "--tokenizer", str(tokenizer_dir), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    built = json.loads((curated / "report.json").read_text())["splits"]  # the sample's counts live in data/
    assert report["ok"] and report["rows"] == built


def test_problems_exit_1_with_examples(tokenizer_dir, tmp_path):
    folder = tmp_path / "data"
    folder.mkdir()
    pl.DataFrame(planted()).write_parquet(folder / "train-00000-of-00001.parquet")
    result = CliRunner().invoke(app, ["check", str(tmp_path), "--tokenizer", str(tokenizer_dir), "--max-length", "200"])
    assert result.exit_code == 1
    assert "eos" in result.stdout and "train:2" in result.stdout


def check_offline_hub(curated, tmp_path, tokenizer: str, **env_extra: str):
    """`curate check` in a subprocess with the Hub unreachable (a closed loopback port); (result, seconds)."""
    import os
    import subprocess
    import sys
    import time

    from conftest import closed_endpoint

    env = {k: v for k, v in os.environ.items() if not k.startswith("HF_")}
    env |= {"HF_ENDPOINT": closed_endpoint(), "HF_HOME": str(tmp_path / "home"), **env_extra}
    command = [sys.executable, "-m", "curate", "check", str(curated), "--tokenizer", tokenizer]
    started = time.monotonic()
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    return done, time.monotonic() - started


def test_unreachable_hub_tokenizer_is_a_clear_error(curated, tmp_path):
    # One short request first: transformers alone retried for ~50 s before failing.
    done, seconds = check_offline_hub(curated, tmp_path, "someone/some-model")
    assert done.returncode == 4, done.stderr
    assert "Error: cannot reach the Hub for model someone/some-model" in done.stderr and "Traceback" not in done.stderr
    assert "Retrying" not in done.stderr and seconds < 15
    assert "HF_HUB_OFFLINE=1" in done.stderr  # the way out when the tokenizer is in the Hub cache


def test_offline_mode_with_an_uncached_tokenizer_does_not_suggest_offline_mode(curated, tmp_path):
    done, seconds = check_offline_hub(curated, tmp_path, "someone/some-model", HF_HUB_OFFLINE="1")
    assert done.returncode == 4, done.stderr
    assert "Error: cannot load the tokenizer someone/some-model (HF_HUB_OFFLINE is set)" in done.stderr
    assert "Unset HF_HUB_OFFLINE" in done.stderr and "HF_HUB_OFFLINE=1" not in done.stderr
    assert "Traceback" not in done.stderr and seconds < 15


@pytest.mark.parametrize("contents", [{}, {"README.md": "# my model"}, {"config.json": '{"model_type": "llama"}'}])
def test_a_folder_that_is_not_a_tokenizer_is_an_input_error(curated, tmp_path, contents):
    folder = tmp_path / "not-a-tokenizer"
    folder.mkdir()
    for name, text in contents.items():
        (folder / name).write_text(text)
    result = CliRunner().invoke(app, ["check", str(curated), "--tokenizer", str(folder)])
    assert result.exit_code == 3, result.output
    assert f"{folder} is not a tokenizer folder: expected tokenizer.json or tokenizer_config.json" in result.stderr
    assert f"found {', '.join(contents) or 'nothing'}" in result.stderr


@pytest.mark.parametrize("name", ["./no-such-folder", "bad name!!"])
def test_a_tokenizer_that_is_neither_a_folder_nor_a_hub_id(curated, name):
    result = CliRunner().invoke(app, ["check", str(curated), "--tokenizer", name])
    assert result.exit_code == 3, result.output
    assert f"tokenizer {name!r}: no such folder, and not a Hub model id (owner/name)" in result.stderr


def test_a_file_is_not_a_tokenizer_folder(curated, tmp_path):
    (tmp_path / "tokenizer.json").write_text("{}")
    result = CliRunner().invoke(app, ["check", str(curated), "--tokenizer", str(tmp_path / "tokenizer.json")])
    assert result.exit_code == 3 and "is a file; expected a folder with tokenizer.json" in result.stderr


def test_no_hint_suggests_offline_mode_once_it_is_set(monkeypatch):
    """Every Hub error map picks another way out when HF_HUB_OFFLINE is already set."""
    from huggingface_hub import constants
    from huggingface_hub.errors import OfflineModeIsEnabled

    from curate.eval_sets import _way_out
    from curate.hub_errors import hub_errors

    def hints() -> list[str]:
        offline = OfflineModeIsEnabled("offline mode is enabled")
        mapped = [hub_errors("dataset a/b").map(offline), hub_errors("x", unreachable_hint="Retry.").map(offline)]
        return [error.hint for error in mapped] + [_way_out()]

    assert "HF_HUB_OFFLINE=1" in hints()[0] and "HF_HUB_OFFLINE=1" in hints()[2]
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    assert all("HF_HUB_OFFLINE=1" not in hint and "HF_HUB_OFFLINE" in hint for hint in hints())


def test_check_loads_no_training_code():
    import subprocess
    import sys

    code = "import sys, curate.checker; print(sorted(m for m in sys.modules if m.startswith('curate.train')))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_the_library_call_is_the_cli_report(tokenizer_dir, curated):
    from curate.checker import CheckReport, check

    report = check(str(curated), str(tokenizer_dir), max_length=4096)
    assert isinstance(report, CheckReport) and report.ok and report.longest <= 4096
    cli = CliRunner().invoke(
        app, ["check", str(curated), "--tokenizer", str(tokenizer_dir), "--max-length", "4096", "--json"]
    )
    assert json.loads(cli.stdout) == report.as_dict()


# ChatML is stated once, in curate.render: the C renderer, the parser here, the card and the schema follow it.


@pytest.mark.parametrize("system", [None, "Be exact.\nAlways."])
def test_chatml_prompt_parses_what_render_writes(system):
    from curate.checker import CHATML_PROMPT
    from curate.config import RenderConfig
    from curate.render import chatml_prompt, chatml_response, render

    kept = pl.DataFrame(
        {"system": [system], "prompt": ["What is\n2 + 3?"], "chosen": ["5"], "rejected": ["6"]},
        schema={name: pl.String for name in ("system", "prompt", "chosen", "rejected")},
    ).with_columns(row=pl.lit(0), chosen_rating=pl.lit(8.0), rejected_rating=pl.lit(2.0))
    rendered = render(kept, RenderConfig(format="chatml")).row(0, named=True)
    assert rendered["prompt"] == chatml_prompt(system, "What is\n2 + 3?")  # the C renderer writes the templates
    assert (rendered["chosen"], rendered["rejected"]) == (chatml_response("5"), chatml_response("6"))
    match = CHATML_PROMPT.match(rendered["prompt"])
    assert (match["lead"], match["system"], match["prompt"]) == ("", system, "What is\n2 + 3?")
    assert CHATML_PROMPT.match("<s>" + rendered["prompt"])["lead"] == "<s>"
    assert CHATML_PROMPT.match(rendered["prompt"] + "The") is None


def test_the_card_and_the_schema_quote_render(curated):
    from curate.render import CHATML_FIELD_DOCS, CHATML_FORMAT_DOC, CHATML_PROMPT_DOC, CHATML_RESPONSE_DOC
    from curate.schemas import ChatmlRow

    card = (curated / "README.md").read_text(encoding="utf-8")
    assert f"| {CHATML_PROMPT_DOC} |" in card and f"the preferred response + {CHATML_RESPONSE_DOC}" in card
    assert {name: ChatmlRow.model_fields[name].description for name in CHATML_FIELD_DOCS} == CHATML_FIELD_DOCS
    assert CHATML_PROMPT_DOC in CHATML_FORMAT_DOC and CHATML_RESPONSE_DOC in CHATML_FORMAT_DOC
