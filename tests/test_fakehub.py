"""The fake Hub must satisfy the real clients, so most checks run them in a subprocess.

A subprocess is needed because huggingface_hub and datasets read HF_ENDPOINT at import time;
each client script prints one JSON line that the test then inspects.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import textwrap
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from fakehub import TRAIN_CARD, FakeHub, parquet_bytes, resolve_url

REPO = "argilla/distilabel-math-preference-dpo"
PARQUET = "data/train-00000-of-00001.parquet"
README = TRAIN_CARD.encode()


def make_rows(tag: str, n: int = 3) -> list[dict]:
    return [
        {
            "instruction": f"{tag}: what is {i} + {i}?",
            "chosen_response": f"{2 * i}",
            "chosen_rating": 9.0,
            "rejected_response": f"{2 * i + 1}",
            "rejected_rating": 2.0,
            "metadata": json.dumps({"source": tag, "index": i}),
        }
        for i in range(n)
    ]


ROWS_V1 = make_rows("v1")
ROWS_V2 = make_rows("v2", n=5)


@pytest.fixture
def hub():
    with FakeHub() as running:
        yield running


@pytest.fixture
def v1(hub: FakeHub) -> str:
    files = {"README.md": README, PARQUET: parquet_bytes(ROWS_V1)}
    return hub.add_dataset_commit(REPO, files)


def run_client(hub: FakeHub, hf_home: Path, code: str) -> dict:
    """Run `code` against the hub in a fresh interpreter; it must print one JSON object last."""
    script = f"import json, os\nREPO = {REPO!r}\n" + textwrap.dedent(code)
    proc = subprocess.run(
        [sys.executable, "-c", script],
        env=hub.client_env(hf_home),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, f"client failed:\n{proc.stderr}\nrequests: {hub.requests}"
    assert hub.errors == [], hub.errors
    return json.loads(proc.stdout.strip().splitlines()[-1])


# --------------------------------------------------------------------------- real clients


def test_dataset_info_reports_branch_head(hub, v1, tmp_path):
    out = run_client(
        hub,
        tmp_path,
        """
        from huggingface_hub import HfApi
        info = HfApi().dataset_info(REPO, revision="main")
        print(json.dumps({"sha": info.sha, "files": [s.rfilename for s in info.siblings],
                          "license": info.card_data.license}))
        """,
    )
    assert out == {"sha": v1, "files": ["README.md", PARQUET], "license": "apache-2.0"}
    assert hub.requests == [("GET", f"/api/datasets/{REPO}/revision/main")]


def test_snapshot_download_fetches_every_file_into_sha_folder(hub, v1, tmp_path):
    out = run_client(hub, tmp_path, SNAPSHOT_MAIN)
    folder = Path(out["path"])
    assert folder.name == v1 and folder.parent.name == "snapshots"
    assert (folder / "README.md").read_bytes() == README
    assert (folder / PARQUET).read_bytes() == hub.files(REPO)[PARQUET]
    assert hub.unhandled == []


SNAPSHOT_MAIN = """
from huggingface_hub import snapshot_download
path = snapshot_download(REPO, repo_type="dataset", revision="main")
print(json.dumps({"path": path}))
"""


def test_load_dataset_returns_rows(hub, v1, tmp_path):
    out = run_client(
        hub,
        tmp_path,
        """
        import datasets
        ds = datasets.load_dataset(REPO, split="train")
        print(json.dumps({"rows": ds.to_list()}))
        """,
    )
    assert out["rows"] == ROWS_V1
    assert hub.unhandled == []


def test_new_commit_moves_main_but_old_sha_keeps_old_content(hub, v1, tmp_path):
    first = run_client(hub, tmp_path, SNAPSHOT_MAIN)
    v2 = hub.add_dataset_commit(REPO, {PARQUET: parquet_bytes(ROWS_V2)})
    # Same HF_HOME: the cached ref for main must not hide the new commit.
    second = run_client(hub, tmp_path, SNAPSHOT_MAIN)
    assert v2 != v1
    assert Path(first["path"]).name == v1 and Path(second["path"]).name == v2
    assert (Path(second["path"]) / PARQUET).read_bytes() == parquet_bytes(ROWS_V2)
    assert (Path(first["path"]) / PARQUET).read_bytes() == parquet_bytes(ROWS_V1)

    out = run_client(
        hub,
        tmp_path,
        f"""
        import datasets
        from huggingface_hub import HfApi
        main = datasets.load_dataset(REPO, split="train")
        old = datasets.load_dataset(REPO, revision={v1!r}, split="train")
        sha = HfApi().dataset_info(REPO, revision="main").sha
        print(json.dumps({{"main": main.to_list(), "old": old.to_list(), "sha": sha}}))
        """,
    )
    assert out == {"main": ROWS_V2, "old": ROWS_V1, "sha": v2}


def test_unknown_repo_revision_and_file_raise_the_hub_errors(hub, v1, tmp_path):
    out = run_client(
        hub,
        tmp_path,
        """
        from huggingface_hub import HfApi, hf_hub_download, snapshot_download
        calls = {
            "info": lambda: HfApi().dataset_info("nobody/nothing"),
            "snapshot": lambda: snapshot_download("nobody/nothing", repo_type="dataset"),
            "revision": lambda: HfApi().dataset_info(REPO, revision="nope"),
            "file": lambda: hf_hub_download(REPO, "nope.txt", repo_type="dataset"),
        }
        raised = {}
        for name, call in calls.items():
            try:
                call()
                raised[name] = None
            except Exception as err:
                raised[name] = type(err).__name__
        print(json.dumps(raised))
        """,
    )
    assert out == {
        "info": "RepositoryNotFoundError",
        "snapshot": "RepositoryNotFoundError",
        "revision": "RevisionNotFoundError",
        "file": "RemoteEntryNotFoundError",
    }


# --------------------------------------------------------------------------- raw HTTP


def http(method: str, url: str, headers: dict | None = None, data: bytes | None = None):
    """(status, headers, body) without raising on 4xx, for header-level assertions."""
    req = urllib.request.Request(url, method=method, headers=headers or {}, data=data)
    try:
        with urllib.request.urlopen(req, timeout=5) as resp:
            return resp.status, resp.headers, resp.read()
    except urllib.error.HTTPError as err:
        return err.code, err.headers, err.read()


def test_resolve_sends_commit_etag_and_length(hub, v1):
    status, headers, body = http("HEAD", resolve_url(hub.endpoint, REPO, "main", "README.md"))
    assert status == 200 and body == b""
    assert headers["X-Repo-Commit"] == v1
    assert headers["Content-Length"] == str(len(README))
    # git blob sha for regular files, sha256 for LFS ones (what the Hub's X-Linked-Etag holds)
    assert re.fullmatch(r'"[0-9a-f]{40}"', headers["ETag"])
    _, lfs_headers, _ = http("HEAD", resolve_url(hub.endpoint, REPO, v1, PARQUET))
    assert re.fullmatch(r'"[0-9a-f]{64}"', lfs_headers["ETag"])


def test_resolve_serves_byte_ranges(hub, v1):
    url = resolve_url(hub.endpoint, REPO, "main", PARQUET)
    data = hub.files(REPO)[PARQUET]
    status, headers, body = http("GET", url, {"Range": "bytes=0-3"})
    assert (status, body) == (206, b"PAR1")
    assert headers["Content-Range"] == f"bytes 0-3/{len(data)}"
    assert http("GET", url, {"Range": "bytes=-4"})[2] == b"PAR1"
    assert http("GET", url, {"Range": "bytes=10-"})[2] == data[10:]
    assert http("GET", url, {"Range": f"bytes={len(data)}-"})[0] == 416


def test_missing_file_is_entry_not_found_and_names_the_commit(hub, v1):
    status, headers, _ = http("HEAD", resolve_url(hub.endpoint, REPO, "main", "x.py"))
    assert status == 404
    assert headers["X-Error-Code"] == "EntryNotFound"
    assert headers["X-Repo-Commit"] == v1


def test_revision_accepts_quoted_branch_names(hub):
    sha = hub.add_dataset_commit(REPO, {"a.txt": b"a"}, branch="refs/pr/1")
    url = f"{hub.endpoint}/api/datasets/{REPO}/revision/refs%2Fpr%2F1"
    status, _, body = http("GET", url)
    assert status == 200 and json.loads(body)["sha"] == sha


def test_tree_lists_children_or_whole_subtree(hub, v1):
    def tree(suffix: str) -> list[str]:
        status, _, body = http("GET", f"{hub.endpoint}/api/datasets/{REPO}/tree/{v1}{suffix}")
        assert status == 200
        return [entry["path"] for entry in json.loads(body)]

    assert tree("") == ["data", "README.md"]
    assert tree("?recursive=true") == ["data", "README.md", PARQUET]
    assert tree("/data") == [PARQUET]
    assert http("GET", f"{hub.endpoint}/api/datasets/{REPO}/tree/main/nope")[0] == 404


def test_paths_info_skips_unknown_paths(hub, v1):
    url = f"{hub.endpoint}/api/datasets/{REPO}/paths-info/main"
    form = b"paths=README.md&paths=data&paths=missing.txt"
    hdrs = {"Content-Type": "application/x-www-form-urlencoded"}
    status, _, body = http("POST", url, hdrs, form)
    assert status == 200
    assert [(e["type"], e["path"]) for e in json.loads(body)] == [
        ("file", "README.md"),
        ("directory", "data"),
    ]


def test_unknown_route_is_logged_and_answered_404(hub):
    assert http("GET", f"{hub.endpoint}/api/spaces/org/app")[0] == 404
    assert hub.unhandled == [("GET", "/api/spaces/org/app")]
    assert hub.requests == hub.unhandled


def test_commit_sha_depends_only_on_history_and_content():
    files = {"README.md": README}
    a, b = FakeHub(), FakeHub()
    assert a.add_dataset_commit(REPO, files) == b.add_dataset_commit(REPO, files)
    second = a.add_dataset_commit(REPO, files)  # same content, new parent
    assert re.fullmatch(r"[0-9a-f]{40}", second) and second != b.head(REPO)
    assert a.files(REPO, b.head(REPO)) == files
