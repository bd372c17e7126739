"""The CLI surface: help for every command, no heavy imports, report on stdout, schemas in sync."""

from __future__ import annotations

import json
import subprocess
import sys

from conftest import REPO, distinct_pairs, pair, write_jsonl
from typer.testing import CliRunner

from curate.cli import app
from curate.config import DEFAULT_RECIPE, Recipe, load_recipe
from curate.schemas import schema_texts

runner = CliRunner()


def test_every_command_has_help_with_a_description():
    for command in app.registered_commands:
        name = command.name or command.callback.__name__
        result = runner.invoke(app, [name, "--help"])
        assert result.exit_code == 0, name
        summary = " ".join(command.callback.__doc__.split(".")[0].split())
        assert summary and summary in " ".join(result.output.split()), name


def test_build_help_shows_examples():
    result = runner.invoke(app, ["build", "--help"])
    assert "Examples" in result.output and "--source" in result.output


def test_help_does_not_import_heavy_packages():
    code = "import sys; sys.argv=['curate','--help']\ntry:\n import curate.cli as c; c.app()\nexcept SystemExit: pass\n"
    code += "print(sorted(m for m in ('torch','trl','transformers','datasets','polars') if m in sys.modules))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip().splitlines()[-1] == "[]"


def test_console_script_build_reports_and_ends_early(tmp_path):
    """`python -m curate` runs `main`: the report reaches stdout whole before the process ends early."""
    source = write_jsonl(tmp_path / "s.jsonl", [*distinct_pairs(9), pair(chosen_rating=9.0, rejected_rating=9.0)])
    args = ["build", "--source", str(source), "-o", str(tmp_path / "out"), "--json", "--decontaminate", "none"]
    done = subprocess.run([sys.executable, "-X", "importtime", "-m", "curate", *args], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    assert json.loads(done.stdout) == json.loads((tmp_path / "out" / "report.json").read_text())
    imported = {line.rsplit("|", 1)[-1].strip() for line in done.stderr.splitlines() if line.startswith("import time")}
    assert "polars" in imported


def test_json_report_on_stdout_and_funnel_table(tmp_path):
    source = write_jsonl(tmp_path / "s.jsonl", [*distinct_pairs(9), pair(chosen_rating=9.0, rejected_rating=9.0)])
    as_json = runner.invoke(app, ["build", "--source", str(source), "-o", str(tmp_path / "a"), "--json"])
    assert as_json.exit_code == 0, as_json.output
    report = json.loads(as_json.stdout)
    assert report["rows_in"] == 10 and report["dropped"] == {"tie": 1}
    assert report == json.loads((tmp_path / "a" / "report.json").read_text())
    table = runner.invoke(app, ["build", "--source", str(source), "-o", str(tmp_path / "b")])
    assert table.exit_code == 0
    assert "tie" in table.stdout and "kept" in table.stdout


def test_flags_override_the_recipe(tmp_path):
    recipe = tmp_path / "r.yaml"
    recipe.write_text("split:\n  test_size: 0.5\n  seed: 7\n")
    source = write_jsonl(tmp_path / "s.jsonl", distinct_pairs(10))
    args = [
        "build",
        "--source",
        str(source),
        "-o",
        str(tmp_path / "o"),
        "-r",
        str(recipe),
        "--test-size",
        "0.2",
        "--json",
    ]
    report = json.loads(runner.invoke(app, args).stdout)
    assert report["recipe"]["split"] == {"test_size": 0.2, "seed": 7}
    assert report["splits"] == {"train": 8, "test": 2}


def test_recipe_command_prints_the_documented_default():
    result = runner.invoke(app, ["recipe"])
    assert result.exit_code == 0
    assert result.stdout == DEFAULT_RECIPE.read_text()


def test_shipped_recipe_equals_the_model_defaults():
    assert load_recipe() == Recipe()


def test_schemas_folder_is_in_sync_with_the_code():
    for name, text in schema_texts().items():
        on_disk = (REPO / "schemas" / name).read_text(encoding="utf-8")
        assert on_disk == text, f"schemas/{name} is stale: run `python -m curate.schemas`"


def test_build_flag_defaults_shown_are_the_recipe_defaults():
    """`curate build --help` shows a copy of the shipped recipe's values (importing the model would slow --help)."""
    from curate.cli import RECIPE_DEFAULTS

    defaults = Recipe().dump()
    for dotted, shown in RECIPE_DEFAULTS.items():
        section, key = dotted.split(".")
        value = defaults[section][key]
        expected = "none" if value is None else ",".join(value) if isinstance(value, list) else str(value)
        assert shown == expected, dotted


def test_version_and_short_help():
    from curate import __version__

    assert runner.invoke(app, ["--version"]).stdout == f"curate {__version__}\n"
    for args in (["-h"], ["build", "-h"], ["push", "-h"]):
        result = runner.invoke(app, args)
        assert result.exit_code == 0 and "Usage" in result.output, args


def test_build_help_shows_each_default():
    shown = " ".join(runner.invoke(app, ["build", "--help"]).output.replace("│", " ").split())
    for value in ("default: 0.1, recipe split.test_size", "default: gsm8k,math500", "from the Hub once"):
        assert value in shown
