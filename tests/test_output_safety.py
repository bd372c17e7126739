"""`--out` never loses data: only a provable curate build is replaced, never an input or the current folder;
bad or full disks fail early and cleanly; stale staging goes; push refuses what cannot be published and keeps
the user's section of the card."""

from __future__ import annotations

import errno
import json
import os
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest
from conftest import distinct_pairs, pair, write_jsonl

import curate.builder
from curate.builder import build
from curate.card import USER_END, USER_START, user_section
from curate.config import load_recipe
from curate.errors import InputError, NoPairsError, OutputError
from curate.push import plan_push, push
from curate.report import Report


def recipe_for(source: Path, **overrides):
    return load_recipe(overrides={"source.path": str(source), "decontaminate.benchmarks": [], **overrides})


def build_from(tmp_path: Path, rows: list[dict], out: Path | str = "out", **overrides) -> Report:
    source = write_jsonl(tmp_path / "source.jsonl", rows)
    return build(recipe_for(source, **overrides), tmp_path / out)


def snapshot(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def make_files(folder: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(text)


def never_loaded(*_args, **_kwargs):
    raise AssertionError("the source was read before --out was checked")


# --- only a provable curate build is replaced ---------------------------------------------------------------


@pytest.mark.parametrize(
    "report",
    [
        '{"title": "my thesis results"}',  # someone else's report.json
        "not json at all",
        '{"curate_version": "0.1.0", "files": {}}',  # looks like curate's, but lists none of the files here
    ],
)
def test_a_folder_that_is_not_only_a_curate_build_is_never_replaced(tmp_path, report):
    project = tmp_path / "proj"
    make_files(project, {"report.json": report, "thesis.txt": "two years of work", "src/main.py": "print(1)"})
    before = snapshot(project)
    with pytest.raises(OutputError, match="refusing to replace it") as raised:
        build_from(tmp_path, distinct_pairs(5), out="proj")
    assert "remove this one yourself" in raised.value.hint
    assert snapshot(project) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["proj", "source.jsonl"]  # no staging left over


def test_a_build_folder_with_a_file_added_is_not_replaced(tmp_path):
    build_from(tmp_path, distinct_pairs(5))
    (tmp_path / "out/notes.txt").write_text("mine")
    (tmp_path / "out/data/extra").mkdir()
    before = snapshot(tmp_path / "out")
    with pytest.raises(OutputError, match=r"not part of its curate build \(data/extra, notes.txt\)"):
        build_from(tmp_path, distinct_pairs(8))
    assert snapshot(tmp_path / "out") == before


def test_an_empty_folder_and_a_build_with_a_missing_file_are_replaced(tmp_path):
    (tmp_path / "empty").mkdir()
    assert build_from(tmp_path, distinct_pairs(5), out="empty").rows_kept == 5
    (tmp_path / "empty/README.md").unlink()  # less than the build wrote: nothing of the user's to lose
    assert build_from(tmp_path, distinct_pairs(6), out="empty").rows_kept == 6
    assert (tmp_path / "empty/README.md").is_file()


def test_out_that_is_a_file_is_refused(tmp_path):
    (tmp_path / "out").write_text("a file")
    with pytest.raises(OutputError, match="is a file"):
        build_from(tmp_path, distinct_pairs(3))
    assert (tmp_path / "out").read_text() == "a file"


# --- never an input -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "out"),
    [
        ("proj/my_only_copy.jsonl", "proj"),  # out holds the source
        ("proj/my_only_copy.jsonl", "proj/my_only_copy.jsonl"),  # out is the source
        ("proj", "proj"),  # a source folder
        ("proj", "proj/curated"),  # out inside the source folder
    ],
)
def test_out_never_replaces_the_source(tmp_path, monkeypatch, source, out):
    (tmp_path / "proj").mkdir()
    write_jsonl(tmp_path / "proj/my_only_copy.jsonl", distinct_pairs(5))
    before = snapshot(tmp_path / "proj")
    monkeypatch.setattr(curate.builder, "load_source", never_loaded)
    with pytest.raises(OutputError, match="overlap .one is or holds the other."):
        build(recipe_for(tmp_path / source), tmp_path / out)
    assert snapshot(tmp_path / "proj") == before


def test_out_never_replaces_a_benchmark_file(tmp_path):
    source = write_jsonl(tmp_path / "source.jsonl", distinct_pairs(5))
    (tmp_path / "evals").mkdir()
    write_jsonl(tmp_path / "evals/bench.jsonl", [{"problem": "What is 1 + 1?"}])
    recipe = recipe_for(source, **{"decontaminate.benchmarks": [str(tmp_path / "evals/bench.jsonl")]})
    with pytest.raises(OutputError, match="overlap .one is or holds the other."):
        build(recipe, tmp_path / "evals")
    assert (tmp_path / "evals/bench.jsonl").exists()


# --- never the current folder -------------------------------------------------------------------------------


@pytest.mark.parametrize("cwd", ["out", "out/data"])
def test_out_dot_and_the_folders_around_the_working_folder_are_refused(tmp_path, monkeypatch, cwd):
    source = write_jsonl(tmp_path / "source.jsonl", distinct_pairs(5))
    build(recipe_for(source), tmp_path / "out")
    before = snapshot(tmp_path / "out")
    monkeypatch.chdir(tmp_path / cwd)
    out = "." if cwd == "out" else ".."
    with pytest.raises(OutputError, match="is the current folder or holds it") as raised:
        build(recipe_for(source), out)
    assert "cd out of it" in raised.value.hint
    assert snapshot(tmp_path / "out") == before


# --- stale staging of killed builds -------------------------------------------------------------------------


def dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()  # exited and reaped: the pid names no process now
    return child.pid


def test_staging_left_by_killed_builds_is_cleared(tmp_path):
    build_from(tmp_path, distinct_pairs(5))
    pid = dead_pid()
    make_files(tmp_path, {f".out.tmp-{pid}/data/train-00000-of-00001.parquet": "half", f".out.old-{pid}/x": "old"})
    alive = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        kept = [f".out.tmp-{alive.pid}", f".outer.tmp-{pid}", f".out.tmp-{pid}x", f"out.tmp-{pid}"]
        for name in kept:
            (tmp_path / name).mkdir()
        build_from(tmp_path, distinct_pairs(6))
    finally:
        alive.kill()
        alive.wait()
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([*kept, "out", "source.jsonl"])


def test_a_build_killed_mid_swap_gets_its_previous_output_back(tmp_path, monkeypatch):
    build_from(tmp_path, distinct_pairs(5))
    before = snapshot(tmp_path / "out")
    (tmp_path / "out").rename(tmp_path / f".out.old-{dead_pid()}")  # killed after retiring it, before the swap

    def interrupted(*_args, **_kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(curate.builder, "run_pipeline", interrupted)
    with pytest.raises(KeyboardInterrupt):
        build_from(tmp_path, distinct_pairs(6))
    assert snapshot(tmp_path / "out") == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out", "source.jsonl"]


# --- unwritable or full disks -------------------------------------------------------------------------------


@pytest.mark.parametrize("out", ["/proc/curate-test/out", "FILE/out"])
def test_an_unwritable_out_fails_before_the_source_is_read(tmp_path, monkeypatch, out):
    # Under /proc, and under a path whose parent is a file, nothing can be made, even by root.
    (tmp_path / "FILE").write_text("a file")
    out = out.replace("FILE", str(tmp_path / "FILE"))
    monkeypatch.setattr(curate.builder, "load_source", never_loaded)
    with pytest.raises(OutputError, match=f"cannot write {out}: ") as raised:
        build(recipe_for(tmp_path / "source.jsonl"), out)
    assert "--out" in raised.value.hint


def test_a_full_disk_is_an_output_error_and_leaves_the_previous_build(tmp_path, monkeypatch):
    build_from(tmp_path, distinct_pairs(5))
    before = snapshot(tmp_path / "out")

    def disk_full(*_args, **_kwargs):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(pl.DataFrame, "write_parquet", disk_full)
    with pytest.raises(OutputError, match="cannot write .*out: No space left on device") as raised:
        build_from(tmp_path, distinct_pairs(8))
    assert "Free some disk space" in raised.value.hint
    assert snapshot(tmp_path / "out") == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out", "source.jsonl"]


def test_an_interrupted_write_leaves_the_previous_build(tmp_path, monkeypatch):
    build_from(tmp_path, distinct_pairs(5))
    before = snapshot(tmp_path / "out")

    def interrupted(*_args, **_kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(curate.builder, "write_report", interrupted)
    with pytest.raises(KeyboardInterrupt):
        build_from(tmp_path, distinct_pairs(8))
    assert snapshot(tmp_path / "out") == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out", "source.jsonl"]


# --- the card -----------------------------------------------------------------------------------------------


def test_a_card_whose_build_dropped_nothing_does_not_advertise_the_dropped_rows(tmp_path):
    report = build_from(tmp_path, distinct_pairs(10))
    card = (tmp_path / "out/README.md").read_text()
    assert report.rows_dropped == 0
    assert '"dropped"' not in card and "config_name: dropped" not in card
    # The empty dropped file stays: report.json accounts for every file, and the counts still add up.
    assert pl.read_parquet(tmp_path / "out/dropped/dropped-00000-of-00001.parquet").height == 0
    assert "dropped/dropped-00000-of-00001.parquet" in report.files


def test_a_card_whose_build_dropped_rows_shows_how_to_load_them(tmp_path):
    build_from(tmp_path, [*distinct_pairs(10), pair(instruction="")])
    card = (tmp_path / "out/README.md").read_text()
    assert 'load_dataset("path/to/this/folder", "dropped", split="dropped")' in card


def edit_user_section(card_path: Path, notes: str) -> None:
    card = card_path.read_text()
    start, end = card.rindex(USER_START) + len(USER_START), card.rindex(USER_END)
    card_path.write_text(card[:start] + notes + card[end:])


def test_a_rebuild_keeps_the_user_section_of_the_card(tmp_path):
    build_from(tmp_path, distinct_pairs(10))
    edit_user_section(tmp_path / "out/README.md", "\n## Notes\n\nChecked by hand by Alice.\n")
    build_from(tmp_path, distinct_pairs(12))
    card = (tmp_path / "out/README.md").read_text()
    assert user_section(card) == "\n## Notes\n\nChecked by hand by Alice.\n"
    assert "12 of 12 source pairs were kept" in card


# --- push -----------------------------------------------------------------------------------------------------


def test_push_of_a_missing_folder_says_it_does_not_exist(tmp_path):
    for publish in (lambda: plan_push(tmp_path / "nope", "alice/x"), lambda: push(tmp_path / "nope", "alice/x")):
        with pytest.raises(InputError, match="nope does not exist") as raised:
            publish()
        assert "curate build --out" in raised.value.hint


def test_push_refuses_a_build_that_kept_no_pair(tmp_path, monkeypatch):
    monkeypatch.delenv("HF_TOKEN", raising=False)
    build_from(tmp_path, [pair(chosen_rating=5.0, rejected_rating=5.0)] * 3)
    for publish in (lambda: plan_push(tmp_path / "out", "alice/x"), lambda: push(tmp_path / "out", "alice/x")):
        with pytest.raises(NoPairsError, match="holds no pair to publish: its build kept 0 of 3 source rows"):
            publish()
    assert NoPairsError.exit_code == 9


def test_push_carries_the_user_section_and_reports_other_card_edits(tmp_path):
    build_from(tmp_path, distinct_pairs(10))
    card_path = tmp_path / "out/README.md"
    plan = plan_push(tmp_path / "out", "alice/x")
    assert not plan.card_edits_lost and user_section(plan.card) == user_section(card_path.read_text())
    edit_user_section(card_path, "\nUse train only.\n")
    plan = plan_push(tmp_path / "out", "alice/x")
    assert user_section(plan.card) == "\nUse train only.\n" and not plan.card_edits_lost
    assert 'load_dataset("alice/x")' in plan.card
    card_path.write_text(card_path.read_text().replace("DPO preference pairs", "Hand-edited pairs"))
    plan = plan_push(tmp_path / "out", "alice/x")
    assert plan.card_edits_lost and "Hand-edited" not in plan.card
    assert user_section(plan.card) == "\nUse train only.\n"
    assert json.loads((tmp_path / "out/report.json").read_text())["rows_kept"] == 10


def test_the_pushed_card_keeps_the_user_section(tmp_path):
    from fakehub import FakeHub

    build_from(tmp_path, distinct_pairs(10))
    edit_user_section(tmp_path / "out/README.md", "\nUse train only.\n")
    token = "hf_fake_write_token_0123456789abcdef"
    with FakeHub(tokens={token: "alice"}) as hub:
        env = hub.client_env(tmp_path / "hf_home") | {"HF_TOKEN": token}
        command = [sys.executable, "-m", "curate", "push", str(tmp_path / "out"), "--repo", "alice/x"]
        done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        pushed = hub.files("alice/x")["README.md"].decode()
    assert user_section(pushed) == "\nUse train only.\n" and 'load_dataset("alice/x")' in pushed
