"""`curate push` against the loopback fake Hub: the CLI runs as a subprocess with HF_ENDPOINT set.

HF_HUB_DISABLE_XET=1 (set by client_env) makes huggingface_hub upload through git-LFS, which the fake
speaks; it does not implement Xet.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest
from conftest import SAMPLE, closed_endpoint
from fakehub import FakeHub

from curate.builder import build
from curate.config import load_recipe
from curate.steps import REASONS

TOKEN = "hf_fake_write_token_0123456789abcdef"
REPO_ID = "alice/math-dpo"


@pytest.fixture
def hub():
    with FakeHub(tokens={TOKEN: "alice", "hf_bob_token": "bob"}) as running:
        yield running


@pytest.fixture(scope="module")
def sample_build(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("builds") / "sample"
    build(load_recipe(overrides={"source.path": str(SAMPLE), "card.license": "apache-2.0"}), out)
    return out


def other_build(tmp_path: Path) -> Path:
    """A different build of the same sample: no test split, so data/test-* must disappear on push."""
    out = tmp_path / "other"
    overrides = {"source.path": str(SAMPLE), "split.test_size": 0.0, "preference.min_rating_gap": 2.0}
    build(load_recipe(overrides=overrides), out)
    return out


def curate(env: dict, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "curate", *args], env=env, capture_output=True, text=True, timeout=120)


def env_for(hub: FakeHub, tmp_path: Path, token: str | None = TOKEN) -> dict:
    env = hub.client_env(tmp_path / "hf_home")
    return env | {"HF_TOKEN": token} if token else env


def test_first_push_creates_the_repo_in_one_commit(hub, tmp_path, sample_build):
    done = curate(env_for(hub, tmp_path), "push", str(sample_build), "--repo", REPO_ID)
    assert done.returncode == 0, done.stderr
    commits = hub.commits(REPO_ID)
    assert len(commits) == 2  # the Hub's initial commit, then ours
    assert done.stdout.strip().splitlines()[-1] == f"{hub.endpoint}/datasets/{REPO_ID}/commit/{commits[-1][0]}"
    files = hub.files(REPO_ID)
    assert sorted(files) == [
        ".gitattributes",
        "README.md",
        "data/test-00000-of-00001.parquet",
        "data/train-00000-of-00001.parquet",
        "dropped/dropped-00000-of-00001.parquet",
        "report.json",
    ]
    assert (
        files["data/train-00000-of-00001.parquet"] == (sample_build / "data/train-00000-of-00001.parquet").read_bytes()
    )


def test_pushing_the_same_build_twice_makes_no_second_commit(hub, tmp_path, sample_build):
    env = env_for(hub, tmp_path)
    first = curate(env, "push", str(sample_build), "--repo", REPO_ID)
    again = curate(env, "push", str(sample_build), "--repo", REPO_ID)
    assert again.returncode == 0, again.stderr
    assert "Nothing changed" in again.stdout
    assert again.stdout.splitlines()[-1] == first.stdout.splitlines()[-1]  # the existing commit's URL
    assert len(hub.commits(REPO_ID)) == 2


def test_pushing_a_changed_build_replaces_the_splits(hub, tmp_path, sample_build):
    env = env_for(hub, tmp_path)
    assert curate(env, "push", str(sample_build), "--repo", REPO_ID).returncode == 0
    changed = other_build(tmp_path)
    done = curate(env, "push", str(changed), "--repo", REPO_ID, "--message", "stricter gap")
    assert done.returncode == 0, done.stderr
    assert [summary for _, summary in hub.commits(REPO_ID)][-1] == "stricter gap"
    files = hub.files(REPO_ID)
    assert "data/test-00000-of-00001.parquet" not in files  # stale split gone
    assert files["data/train-00000-of-00001.parquet"] == (changed / "data/train-00000-of-00001.parquet").read_bytes()
    assert json.loads(files["report.json"])["recipe"]["preference"]["min_rating_gap"] == 2.0


def test_load_dataset_round_trip_returns_the_same_rows(hub, tmp_path, sample_build):
    env = env_for(hub, tmp_path)
    assert curate(env, "push", str(sample_build), "--repo", REPO_ID).returncode == 0
    code = (
        "import json, datasets\n"
        f"ds = datasets.load_dataset({REPO_ID!r})\n"
        f"dropped = datasets.load_dataset({REPO_ID!r}, 'dropped', split='dropped')\n"
        "print(json.dumps({s: list(ds[s]['source_row']) for s in ds} | {'dropped': list(dropped['reason'])}))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    loaded = json.loads(done.stdout.strip().splitlines()[-1])
    for split in ("train", "test"):
        assert (
            loaded[split]
            == pl.read_parquet(sample_build / f"data/{split}-00000-of-00001.parquet")["source_row"].to_list()
        )
    assert (
        loaded["dropped"]
        == pl.read_parquet(sample_build / "dropped/dropped-00000-of-00001.parquet")["reason"].to_list()
    )


def test_card_yaml_and_body_and_hub_validation(hub, tmp_path, sample_build):
    env = env_for(hub, tmp_path)
    assert curate(env, "push", str(sample_build), "--repo", REPO_ID).returncode == 0
    card = hub.files(REPO_ID)["README.md"].decode()
    code = (
        "import sys\nfrom huggingface_hub import DatasetCard\n"
        "card = DatasetCard(sys.stdin.read())\ncard.validate()\n"
        "d = card.data.to_dict()\n"
        "configs = [c['config_name'] for c in d['configs']]\n"
        "print(d['license'], d['task_categories'], d['size_categories'], d['tags'], configs)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], input=card, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == (
        "apache-2.0 ['text-generation'] ['n<1K'] ['dpo', 'preference', 'trl', 'math', 'curate'] ['default', 'dropped']"
    )
    assert "validate-yaml" in " ".join(path for _, path in hub.requests)
    body = card.split("\n---\n", 1)[1]
    assert f'load_dataset("{REPO_ID}")' in body
    assert f"trl dpo --dataset_name {REPO_ID}" in body
    assert f"| validate | `empty_prompt`: {REASONS['empty_prompt']} | -3 |" in body
    assert "min_rating_gap: 1.0" in body  # the recipe


def test_dry_run_sends_nothing(hub, tmp_path, sample_build):
    done = curate(env_for(hub, tmp_path), "push", str(sample_build), "--repo", REPO_ID, "--dry-run")
    assert done.returncode == 0, done.stderr
    assert "data/train-00000-of-00001.parquet" in done.stdout and "Nothing was sent" in done.stdout
    assert "pretty_name:" in done.stdout  # the card
    assert hub.requests == []


def test_wrong_token_is_a_clean_error(hub, tmp_path, sample_build):
    done = curate(env_for(hub, tmp_path, token="hf_not_a_real_token"), "push", str(sample_build), "--repo", REPO_ID)
    assert done.returncode == 6
    assert done.stderr.startswith("Error: the Hub rejected the token (401)")
    assert "Traceback" not in done.stderr
    assert ("dataset", REPO_ID) not in hub.repos


def test_someone_elses_namespace_is_a_clean_error(hub, tmp_path, sample_build):
    done = curate(env_for(hub, tmp_path, token="hf_bob_token"), "push", str(sample_build), "--repo", REPO_ID)
    assert done.returncode == 6
    assert "no write access to datasets/alice/math-dpo" in done.stderr


def test_not_logged_in(hub, tmp_path, sample_build):
    done = curate(env_for(hub, tmp_path, token=None), "push", str(sample_build), "--repo", REPO_ID)
    assert done.returncode == 6
    assert "not logged in" in done.stderr and "hf auth login" in done.stderr
    assert hub.requests == []


def test_a_500_on_the_first_commit_is_retried_once(hub, tmp_path, sample_build):
    hub.fail_next("POST", r"/commit/", status=500, times=1)
    done = curate(env_for(hub, tmp_path), "push", str(sample_build), "--repo", REPO_ID)
    assert done.returncode == 0, done.stderr
    assert hub.faults_pending == 0
    assert len(hub.commits(REPO_ID)) == 2  # one commit of ours in the end


def test_persistent_5xx_gives_up_with_nothing_published(hub, tmp_path, sample_build):
    hub.fail_next("POST", r"/commit/", status=503, times=10)
    done = curate(env_for(hub, tmp_path), "push", str(sample_build), "--repo", REPO_ID)
    assert done.returncode == 4
    assert "nothing was published" in done.stderr
    assert set(hub.files(REPO_ID)) == {".gitattributes"}


def test_branch(hub, tmp_path, sample_build):
    env = env_for(hub, tmp_path)
    assert curate(env, "push", str(sample_build), "--repo", REPO_ID).returncode == 0
    changed = other_build(tmp_path)
    done = curate(env, "push", str(changed), "--repo", REPO_ID, "--branch", "v2")
    assert done.returncode == 0, done.stderr
    assert "data/test-00000-of-00001.parquet" in hub.files(REPO_ID, "main")
    assert "data/test-00000-of-00001.parquet" not in hub.files(REPO_ID, "v2")


def test_private_repo(hub, tmp_path, sample_build):
    assert curate(env_for(hub, tmp_path), "push", str(sample_build), "--repo", REPO_ID, "--private").returncode == 0
    assert hub.repos[("dataset", REPO_ID)].private


@pytest.mark.parametrize(
    ("repo", "message"),
    [
        ("not a repo id!", "is not a valid repo id"),
        ("models/alice/x", "is a model repo"),
        ("a/b/c", "not a valid repo id"),
    ],
)
def test_bad_repo_ids(hub, tmp_path, sample_build, repo, message):
    done = curate(env_for(hub, tmp_path), "push", str(sample_build), "--repo", repo)
    assert done.returncode == 2 and message in done.stderr
    assert hub.requests == []


def test_folder_that_is_not_a_build_or_was_changed(hub, tmp_path, sample_build):
    env = env_for(hub, tmp_path)
    not_build = curate(env, "push", str(tmp_path), "--repo", REPO_ID)
    assert not_build.returncode == 3 and "is not a curate build folder" in not_build.stderr
    tampered = tmp_path / "tampered"
    build(load_recipe(overrides={"source.path": str(SAMPLE)}), tampered)
    (tampered / "data/train-00000-of-00001.parquet").write_bytes(b"PAR1 edited by hand")
    changed = curate(env, "push", str(tampered), "--repo", REPO_ID)
    assert changed.returncode == 3 and "no longer matches its hash in report.json" in changed.stderr
    assert hub.requests == []


def test_unreachable_hub(hub, tmp_path, sample_build):
    env = env_for(hub, tmp_path) | {"HF_ENDPOINT": closed_endpoint()}
    done = curate(env, "push", str(sample_build), "--repo", REPO_ID)
    assert done.returncode == 4
    assert "nothing was published" in done.stderr


def test_the_token_is_never_printed_or_written(hub, tmp_path, sample_build):
    env = env_for(hub, tmp_path)
    outputs = [
        curate(env, "push", str(sample_build), "--repo", REPO_ID),
        curate(env, "push", str(sample_build), "--repo", REPO_ID),
        curate(env, "push", str(sample_build), "--repo", "alice/other", "--dry-run"),
        curate(env | {"HF_TOKEN": TOKEN + "x"}, "push", str(sample_build), "--repo", REPO_ID),
    ]
    for done in outputs:
        assert TOKEN not in done.stdout + done.stderr
    written = [p for p in [*tmp_path.rglob("*"), *sample_build.rglob("*")] if p.is_file()]
    assert written
    for path in written:
        assert TOKEN.encode() not in path.read_bytes(), path
    for data in hub.files(REPO_ID).values():
        assert TOKEN.encode() not in data


def test_a_bare_repo_name_lands_in_the_users_namespace_and_the_card_says_so(hub, tmp_path, sample_build):
    done = curate(env_for(hub, tmp_path), "push", str(sample_build), "--repo", "math-dpo")
    assert done.returncode == 0, done.stderr
    card = hub.files(REPO_ID)["README.md"].decode()
    assert f'load_dataset("{REPO_ID}")' in card


def test_private_flag_refuses_an_existing_public_repo(hub, tmp_path, sample_build):
    env = env_for(hub, tmp_path)
    assert curate(env, "push", str(sample_build), "--repo", REPO_ID).returncode == 0
    done = curate(env, "push", str(other_build(tmp_path)), "--repo", REPO_ID, "--private")
    assert done.returncode == 2 and "already exists and is public" in done.stderr
    assert len(hub.commits(REPO_ID)) == 2
