"""`curate build` pulling a pinned revision from a Hub: the loopback fake in tests/fakehub.py.

The CLI runs as a subprocess because huggingface_hub reads HF_ENDPOINT at import time.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest
from conftest import closed_endpoint, distinct_pairs, pair
from fakehub import TRAIN_CARD, FakeHub, parquet_bytes

REPO_ID = "argilla/distilabel-math-preference-dpo"
CARD = TRAIN_CARD.encode()


def commit(hub: FakeHub, rows: list[dict]) -> str:
    files = {"README.md": CARD, "data/train-00000-of-00001.parquet": parquet_bytes(rows)}
    return hub.add_dataset_commit(REPO_ID, files)


def curate(env: dict, *args: str) -> subprocess.CompletedProcess:
    """`curate build` in a subprocess; no decontamination unless asked (test_decontaminate covers the Hub case)."""
    decontaminate = [] if "--decontaminate" in args else ["--decontaminate", "none"]
    command = [sys.executable, "-m", "curate", "build", *decontaminate, *args]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)


@pytest.fixture
def hub():
    with FakeHub() as running:
        yield running


def test_build_pulls_main_and_records_the_sha(hub, tmp_path):
    sha = commit(hub, [*distinct_pairs(20), pair(chosen_rating=5.0, rejected_rating=5.0)])
    done = curate(hub.client_env(tmp_path / "home"), "--out", str(tmp_path / "out"), "--json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["source"] | {"files": None} == {
        "kind": "hub",
        "dataset": REPO_ID,
        "revision": "main",
        "sha": sha,
        "split": "train",
        "license": "apache-2.0",
        "files": None,
        "columns": report["source"]["columns"],
    }
    assert report["rows_in"] == 21 and report["dropped"] == {"tie": 1}
    assert [f["path"] for f in report["source"]["files"]] == ["data/train-00000-of-00001.parquet"]


def test_revision_pins_an_older_commit(hub, tmp_path):
    old = commit(hub, distinct_pairs(10))
    commit(hub, distinct_pairs(30))
    env = hub.client_env(tmp_path / "home")
    done = curate(env, "--revision", old, "--out", str(tmp_path / "out"), "--json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert (report["source"]["sha"], report["rows_in"]) == (old, 10)


def test_offline_mode_reads_the_hub_cache_and_says_so_when_missing(hub, tmp_path):
    sha = commit(hub, distinct_pairs(10))
    env = hub.client_env(tmp_path / "home")
    assert curate(env, "--out", str(tmp_path / "a")).returncode == 0
    offline = {**env, "HF_HUB_OFFLINE": "1"}
    done = curate(offline, "--revision", sha, "--out", str(tmp_path / "b"), "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["source"]["sha"] == sha
    by_branch = curate(offline, "--out", str(tmp_path / "b2"), "--json")  # the cache knows what main pointed to
    assert by_branch.returncode == 0, by_branch.stderr
    assert json.loads(by_branch.stdout)["source"]["sha"] == sha
    missing = curate({**offline, "HF_HOME": str(tmp_path / "empty")}, "--out", str(tmp_path / "c"))
    assert missing.returncode == 4
    assert "not in the Hub cache" in missing.stderr


def test_unknown_dataset_and_revision_are_clear_errors(hub, tmp_path):
    commit(hub, distinct_pairs(3))
    env = hub.client_env(tmp_path / "home")
    unknown = curate(env, "--dataset", "nobody/nothing", "--out", str(tmp_path / "o"))
    assert unknown.returncode == 4
    assert "Error: dataset nobody/nothing not found" in unknown.stderr
    bad_revision = curate(env, "--revision", "v9", "--out", str(tmp_path / "o"))
    assert bad_revision.returncode == 4 and "revision not found" in bad_revision.stderr
    assert "Traceback" not in unknown.stderr + bad_revision.stderr


def test_unreachable_hub_fails_fast_and_names_the_way_out(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("HF_")}
    env |= {"HF_ENDPOINT": closed_endpoint(), "HF_HOME": str(tmp_path / "home")}
    (tmp_path / "out").mkdir()
    previous = '{"curate_version": "0.1.0", "files": {}}'  # a previous build (of nothing) that must survive
    (tmp_path / "out" / "report.json").write_text(previous)
    started = time.monotonic()
    done = curate(env, "--out", str(tmp_path / "out"))
    assert time.monotonic() - started < 15
    assert done.returncode == 4
    assert "Error: cannot reach the Hub" in done.stderr
    assert "--source PATH" in done.stderr and "HF_HUB_OFFLINE=1" in done.stderr
    assert os.listdir(tmp_path / "out") == ["report.json"]
