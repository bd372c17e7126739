"""The write side of the fake Hub: auth, repo creation, card validation, git-LFS uploads, commits.

The real huggingface_hub / datasets clients run in a subprocess (both read HF_ENDPOINT at import
time) with HF_TOKEN set; hub.client_env also sets HF_HUB_DISABLE_XET=1, because the fake speaks
plain git-LFS only: with hf_xet importable the client would upload through Xet, and upload_folder
would take its multi-commit pipeline instead of one create_commit. Header- and status-level
checks use raw HTTP. The client behaviours a push implementation depends on are pinned here:
the exact request sequence of upload_folder, the skipping of unchanged files, and which 5xx
answers the client retries by itself.
"""

from __future__ import annotations

import base64
import hashlib
import json
import subprocess
import sys
import textwrap
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from fakehub import BAD_TOKEN, GITATTRIBUTES, TRAIN_CARD, FakeHub, parquet_bytes

TOKEN, BOB = "hf_alice_write", "hf_bob_write"
REPO = "alice/math-dpo"
PARQUET = "data/train-00000-of-00001.parquet"
README = TRAIN_CARD
ROWS = [{"prompt": f"{i} + {i}?", "chosen": f"{2 * i}", "rejected": f"{2 * i + 1}"} for i in range(4)]


@pytest.fixture
def hub():
    with FakeHub(tokens={TOKEN: "alice", BOB: "bob"}, orgs={"curators": ["alice"]}) as running:
        yield running


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """What a build writes: a card and one parquet shard."""
    out = tmp_path / "out"
    (out / "data").mkdir(parents=True)
    (out / "README.md").write_text(README)
    (out / PARQUET).write_bytes(parquet_bytes(ROWS))
    return out


def run_client(hub: FakeHub, home: Path, code: str, token: str | None = TOKEN) -> dict:
    """Run `code` in a fresh interpreter against the hub; it must print one JSON object last."""
    env = hub.client_env(home)
    if token is not None:
        env["HF_TOKEN"] = token
    script = f"import json\nREPO = {REPO!r}\n" + textwrap.dedent(code)
    proc = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, f"client failed:\n{proc.stderr}\nrequests: {hub.requests}"
    assert hub.errors == [], hub.errors
    return json.loads(proc.stdout.strip().splitlines()[-1])


UPLOAD = """
from huggingface_hub import HfApi
info = HfApi().upload_folder(repo_id=REPO, repo_type="dataset", folder_path={folder!r}, **{kwargs})
print(json.dumps({{"oid": info.oid}}))
"""


def upload(hub: FakeHub, home: Path, folder: Path, **kwargs) -> tuple[str, list[tuple[str, str]]]:
    """upload_folder in a client; returns the commit oid it reports and the requests it made."""
    before = len(hub.requests)
    out = run_client(hub, home, UPLOAD.format(folder=str(folder), kwargs=kwargs))
    return out["oid"], hub.requests[before:]


def call(hub: FakeHub, method: str, path: str, body: object = None, token: str | None = TOKEN, headers=None):
    """Raw HTTP: (status, headers, parsed JSON body or raw bytes), never raising on 4xx/5xx."""
    hdrs = dict(headers or {})
    if token is not None:
        hdrs["Authorization"] = f"Bearer {token}"
    data = body
    if isinstance(body, (dict, list)):
        data = json.dumps(body).encode()
        hdrs.setdefault("Content-Type", "application/json")
    req = urllib.request.Request(hub.endpoint + path, method=method, headers=hdrs, data=data)
    try:
        with urllib.request.urlopen(req, timeout=5) as resp:
            status, resp_headers, raw = resp.status, resp.headers, resp.read()
    except urllib.error.HTTPError as err:
        status, resp_headers, raw = err.code, err.headers, err.read()
    try:
        return status, resp_headers, json.loads(raw)
    except ValueError:
        return status, resp_headers, raw


def ndjson(*lines: dict) -> bytes:
    return b"".join(json.dumps(line).encode() + b"\n" for line in lines)


def commit(hub: FakeHub, *ops: dict, summary: str = "raw commit", parent: str | None = None, token: str = TOKEN):
    header = {"summary": summary, "description": ""} | ({"parentCommit": parent} if parent else {})
    body = ndjson({"key": "header", "value": header}, *ops)
    hdrs = {"Content-Type": "application/x-ndjson"}
    return call(hub, "POST", f"/api/datasets/{REPO}/commit/main", body, token=token, headers=hdrs)


def add_file(path: str, data: bytes) -> dict:
    return {"key": "file", "value": {"path": path, "content": base64.b64encode(data).decode(), "encoding": "base64"}}


# --------------------------------------------------------------------------- real clients


def test_create_upload_then_load_dataset_round_trip(hub, folder, tmp_path):
    out = run_client(
        hub,
        tmp_path / "home",
        """
        from huggingface_hub import HfApi
        api = HfApi()
        urls = [api.create_repo(REPO, repo_type="dataset"), api.create_repo(REPO, repo_type="dataset", exist_ok=True)]
        print(json.dumps({"user": api.whoami()["name"], "urls": urls}))
        """,
    )
    assert out == {"user": "alice", "urls": [f"{hub.endpoint}/datasets/{REPO}"] * 2}

    sha, requests = upload(hub, tmp_path / "home", folder)
    oid = hashlib.sha256(parquet_bytes(ROWS)).hexdigest()
    assert requests == [
        ("POST", "/api/validate-yaml"),  # upload_folder checks README.md's YAML...
        ("POST", "/api/validate-yaml"),  # ...and create_commit does it again
        ("POST", f"/api/datasets/{REPO}/preupload/main"),
        ("POST", f"/datasets/{REPO}.git/info/lfs/objects/batch"),
        ("PUT", f"/fake-lfs/{oid}"),  # the parquet file only: README.md goes inline, base64
        ("POST", f"/datasets/{REPO}.git/info/lfs/objects/verify"),
        ("POST", f"/api/datasets/{REPO}/commit/main"),
    ]
    assert hub.commits(REPO) == [
        (hub.commits(REPO)[0][0], "initial commit"),
        (sha, "Upload folder using huggingface_hub"),
    ]
    assert hub.files(REPO) == {
        ".gitattributes": GITATTRIBUTES,  # the Hub's initial commit; upload_folder never deletes it
        "README.md": README.encode(),
        PARQUET: parquet_bytes(ROWS),
    }

    out = run_client(
        hub,
        tmp_path / "home",
        """
        import datasets
        from huggingface_hub import HfApi
        entries = HfApi().list_repo_tree(REPO, repo_type="dataset", recursive=True)
        tree = {f.path: getattr(f, "lfs", None) is not None for f in entries}
        rows = datasets.load_dataset(REPO, split="train").to_list()
        print(json.dumps({"rows": rows, "lfs": tree}))
        """,
    )
    assert out["rows"] == ROWS
    assert out["lfs"] == {".gitattributes": False, "README.md": False, "data": False, PARQUET: True}
    assert hub.unhandled == []


def test_same_content_again_is_skipped_by_the_client_without_a_commit(hub, folder, tmp_path):
    hub.add_repo(REPO)
    first, _ = upload(hub, tmp_path / "home", folder)
    again, requests = upload(hub, tmp_path / "home", folder)
    # preupload answers each path's current oid; the client drops unchanged files and, with
    # nothing left, sends no commit at all and reports the current head instead.
    assert again == first
    assert [c[1] for c in hub.commits(REPO)] == ["initial commit", "Upload folder using huggingface_hub"]
    assert requests == [
        ("POST", "/api/validate-yaml"),
        ("POST", "/api/validate-yaml"),
        ("POST", f"/api/datasets/{REPO}/preupload/main"),
        # LFS files are pre-uploaded before the no-op filter runs; the batch answers "stored".
        ("POST", f"/datasets/{REPO}.git/info/lfs/objects/batch"),
        ("GET", f"/api/datasets/{REPO}/revision/main"),
    ]


def test_delete_patterns_remove_stale_files_in_the_same_commit(hub, folder, tmp_path):
    hub.add_repo(REPO)
    stale = {"data/train-00000-of-00002.parquet": parquet_bytes(ROWS[:1]), "data/notes.txt": b"old"}
    hub.add_dataset_commit(REPO, {**stale, "keep.txt": b"outside data/"})
    sha, requests = upload(hub, tmp_path / "home", folder, delete_patterns=["data/**"])
    assert requests[0] == ("GET", f"/api/datasets/{REPO}/tree/main")  # list_repo_files, recursive
    assert sorted(hub.files(REPO)) == [".gitattributes", "README.md", PARQUET, "keep.txt"]
    assert hub.head(REPO) == sha and len(hub.commits(REPO)) == 3


def test_dataset_card_validate_uses_validate_yaml(hub, tmp_path):
    out = run_client(
        hub,
        tmp_path / "home",
        f"""
        from huggingface_hub import DatasetCard
        DatasetCard({README!r}).validate()
        try:
            DatasetCard("---\\nconfigs:\\n- split: train\\n---\\nbody").validate()
            print(json.dumps({{"bad": None}}))
        except ValueError as err:
            print(json.dumps({{"bad": str(err)}}))
        """,
        token=None,  # validate() sends no token at all
    )
    assert "config_name" in out["bad"]
    assert hub.requests == [("POST", "/api/validate-yaml")] * 2 and hub.writes == []


def test_wrong_token_is_a_401_http_error_before_anything_is_written(hub, folder, tmp_path):
    hub.add_repo(REPO)
    heads = hub.commits(REPO)
    out = run_client(
        hub,
        tmp_path / "home",
        f"""
        from huggingface_hub import HfApi
        from huggingface_hub.errors import HfHubHTTPError
        api, raised = HfApi(), {{}}
        calls = {{
            "whoami": api.whoami,
            "create": lambda: api.create_repo("alice/other", repo_type="dataset", exist_ok=True),
            "upload": lambda: api.upload_folder(repo_id=REPO, repo_type="dataset", folder_path={str(folder)!r}),
        }}
        for name, fn in calls.items():
            try:
                fn()
            except HfHubHTTPError as err:
                raised[name] = [type(err).__name__, err.response.status_code]
        print(json.dumps(raised))
        """,
        token="hf_not_a_token",
    )
    assert out == {name: ["HfHubHTTPError", 401] for name in ("whoami", "create", "upload")}
    assert hub.commits(REPO) == heads and ("dataset", "alice/other") not in hub.repos


def test_a_500_on_the_commit_is_not_retried_by_the_client(hub, folder, tmp_path):
    hub.add_repo(REPO)
    hub.fail_next("POST", r"/commit/", status=500)
    out = run_client(
        hub,
        tmp_path / "home",
        f"""
        from huggingface_hub import HfApi
        from huggingface_hub.errors import HfHubHTTPError
        try:
            HfApi().upload_folder(repo_id=REPO, repo_type="dataset", folder_path={str(folder)!r})
            print(json.dumps({{"raised": None}}))
        except HfHubHTTPError as err:
            print(json.dumps({{"raised": err.response.status_code}}))
        """,
    )
    assert out == {"raised": 500}
    assert hub.requests.count(("POST", f"/api/datasets/{REPO}/commit/main")) == 1
    assert [c[1] for c in hub.commits(REPO)] == ["initial commit"] and hub.faults_pending == 0

    # Running it again is enough: the LFS object is already stored, so nothing is re-uploaded.
    sha, requests = upload(hub, tmp_path / "home", folder)
    assert hub.head(REPO) == sha and not any(method == "PUT" for method, _ in requests)


def test_5xx_on_preupload_and_lfs_put_are_retried_by_the_client(hub, folder, tmp_path):
    hub.add_repo(REPO)
    hub.fail_next("POST", r"/preupload/", status=503)
    hub.fail_next("PUT", r"^/fake-lfs/", status=500)
    sha, requests = upload(hub, tmp_path / "home", folder)  # about 1 s of back-off per retry
    assert hub.head(REPO) == sha and hub.faults_pending == 0
    assert requests.count(("POST", f"/api/datasets/{REPO}/preupload/main")) == 2
    assert sum(method == "PUT" for method, _ in requests) == 2


def test_big_lfs_files_go_through_multipart_when_asked(tmp_path):
    data = bytes(range(256)) * 1000  # 256,000 bytes: 4 parts of 64 KiB
    with FakeHub(tokens={TOKEN: "alice"}, lfs_chunk_size=64 * 1024) as hub:
        hub.add_repo(REPO)
        (tmp_path / "blob.bin").write_bytes(data)
        run_client(
            hub,
            tmp_path / "home",
            f"""
            from huggingface_hub import HfApi, CommitOperationAdd
            op = CommitOperationAdd("blob.bin", {str(tmp_path / "blob.bin")!r})
            info = HfApi().create_commit(REPO, [op], commit_message="big", repo_type="dataset")
            print(json.dumps({{"oid": info.oid}}))
            """,
        )
        oid = hashlib.sha256(data).hexdigest()
        assert [p for m, p in hub.requests if m == "PUT"] == [f"/fake-lfs/{oid}/part/{n}" for n in range(1, 5)]
        assert ("POST", f"/fake-lfs/{oid}") in hub.requests  # the completion call
        assert hub.files(REPO)["blob.bin"] == data


def test_stale_parent_commit_and_commit_listing_through_the_client(hub, tmp_path):
    initial = hub.add_repo(REPO)
    hub.add_dataset_commit(REPO, {"a.txt": b"a"}, message="someone else")
    out = run_client(
        hub,
        tmp_path / "home",
        f"""
        from huggingface_hub import HfApi, CommitOperationAdd
        from huggingface_hub.errors import HfHubHTTPError
        api = HfApi()
        op = CommitOperationAdd("b.txt", b"b")
        try:
            api.create_commit(REPO, [op], commit_message="mine", repo_type="dataset", parent_commit={initial!r})
            status = None
        except HfHubHTTPError as err:
            status = err.response.status_code
        titles = [c.title for c in api.list_repo_commits(REPO, repo_type="dataset")]
        print(json.dumps({{"status": status, "titles": titles}}))
        """,
    )
    assert out == {"status": 412, "titles": ["someone else", "initial commit"]}


def test_exist_ok_hides_a_403_when_the_repo_is_readable(hub, tmp_path):
    # create_repo(exist_ok=True) answers a 403 with a repo_info call and returns the URL when
    # the repo can be read: it does not prove the right to push.
    hub.add_repo(REPO)
    out = run_client(
        hub,
        tmp_path / "home",
        """
        from huggingface_hub import HfApi
        print(json.dumps({"url": HfApi().create_repo(REPO, repo_type="dataset", exist_ok=True)}))
        """,
        token=BOB,
    )
    assert out == {"url": f"{hub.endpoint}/datasets/{REPO}"}
    assert hub.requests == [("POST", "/api/repos/create"), ("GET", f"/api/datasets/{REPO}")]


# --------------------------------------------------------------------------- raw HTTP


def test_whoami_needs_a_known_token(hub):
    status, _, body = call(hub, "GET", "/api/whoami-v2")
    assert status == 200 and body["name"] == "alice" and body["orgs"] == [{"type": "org", "name": "curators"}]
    assert call(hub, "GET", "/api/whoami-v2", token=None)[0] == 401
    status, headers, body = call(hub, "GET", "/api/whoami-v2", token="hf_nope")
    assert status == 401 and headers["X-Error-Message"] == BAD_TOKEN and body == {"error": BAD_TOKEN}


def test_create_repo_checks_token_namespace_and_existence(hub):
    payload = {"name": "math-dpo", "organization": None, "type": "dataset"}
    assert call(hub, "POST", "/api/repos/create", payload, token=None)[0] == 401
    assert call(hub, "POST", "/api/repos/create", payload, token=BOB)[0] == 200  # bob/math-dpo
    assert call(hub, "POST", "/api/repos/create", {**payload, "organization": "alice"}, token=BOB)[0] == 403
    status, _, body = call(hub, "POST", "/api/repos/create", payload)
    assert status == 200 and body["url"] == f"{hub.endpoint}/datasets/{REPO}"
    status, _, body = call(hub, "POST", "/api/repos/create", payload)
    assert status == 409 and body == {
        "error": "You already created this dataset repo",
        "url": f"{hub.endpoint}/datasets/{REPO}",
    }
    assert call(hub, "POST", "/api/repos/create", {**payload, "organization": "curators"})[0] == 200
    assert hub.files(REPO) == {".gitattributes": GITATTRIBUTES}
    assert [c[1] for c in hub.commits(REPO)] == ["initial commit"]
    assert not hub.repos[("dataset", REPO)].private


def test_a_model_repo_does_not_take_the_dataset_name(hub):
    hub.add_model_repo(REPO)
    dataset = {"name": "math-dpo", "type": "dataset", "visibility": "private"}
    assert call(hub, "GET", f"/api/datasets/{REPO}")[0] == 404
    assert call(hub, "POST", "/api/repos/create", dataset)[0] == 200
    status, _, body = call(hub, "POST", "/api/repos/create", {"name": "math-dpo"})  # type defaults to model
    assert status == 409 and body["url"] == f"{hub.endpoint}/{REPO}"
    assert call(hub, "GET", f"/api/models/{REPO}", token=None)[0] == 200
    assert hub.repos[("dataset", REPO)].private and not hub.repos[("model", REPO)].private


def test_private_repo_is_hidden_from_all_but_its_owner(hub):
    sha = hub.add_dataset_commit(REPO, {"README.md": b"x"}, private=True)
    for token in (None, BOB):
        status, headers, _ = call(hub, "GET", f"/api/datasets/{REPO}", token=token)
        assert (status, headers["X-Error-Code"]) == (404, "RepoNotFound")
        assert call(hub, "GET", f"/datasets/{REPO}/resolve/main/README.md", token=token)[0] == 404
    status, _, body = call(hub, "GET", f"/api/datasets/{REPO}")
    assert status == 200 and body["sha"] == sha and body["private"] is True
    assert commit(hub, add_file("b.txt", b"b"), token=BOB)[0] == 404  # not 403: bob must not learn it exists


def test_unknown_token_is_refused_even_on_public_reads(hub):
    hub.add_dataset_commit(REPO, {"README.md": b"x"})
    assert call(hub, "GET", f"/api/datasets/{REPO}", token=None)[0] == 200
    assert call(hub, "GET", f"/api/datasets/{REPO}", token="hf_nope")[0] == 401


@pytest.mark.parametrize(
    ("yaml_text", "error"),
    [
        ("license: mit\nconfigs:\n- config_name: default\n  data_files: data/*\n", None),
        ("configs:\n- config_name: a\n  data_files:\n  - split: train\n    path: a/*\n", None),
        ("configs: default\n", '"configs" must be a list'),
        ("configs:\n- data_files: data/*\n", '"config_name"'),
        ("configs:\n- config_name: a\n- config_name: a\n", "used more than once"),
        ("configs:\n- config_name: a\n  data_files:\n  - train: x\n", "data_files"),
        ("- just\n- a list\n", "mapping"),
        ("key: [unclosed\n", "Invalid YAML"),
    ],
)
def test_validate_yaml_checks_syntax_and_configs(hub, yaml_text, error):
    body = {"content": f"---\n{yaml_text}---\n# Card\n", "repoType": "dataset"}
    status, _, answer = call(hub, "POST", "/api/validate-yaml", body, token=None)
    if error is None:
        assert (status, answer) == (200, {"errors": [], "warnings": []})
    else:
        assert status == 400 and error in answer["errors"][0]["message"]


def test_validate_yaml_warns_on_a_card_without_metadata(hub):
    status, _, answer = call(hub, "POST", "/api/validate-yaml", {"content": "# no yaml", "repoType": "dataset"})
    assert status == 200 and answer["errors"] == [] and answer["warnings"]


def test_preupload_reports_modes_and_current_oids(hub):
    hub.add_repo(REPO)
    parquet = parquet_bytes(ROWS)
    hub.add_dataset_commit(REPO, {"README.md": b"card", PARQUET: parquet})
    files = [{"path": p, "sample": "", "size": n} for p, n in [("README.md", 4), (PARQUET, len(parquet)), ("x", 1)]]
    status, _, body = call(hub, "POST", f"/api/datasets/{REPO}/preupload/main", {"files": files})
    assert status == 200
    assert body["files"] == [
        {
            "path": "README.md",
            "uploadMode": "regular",
            "shouldIgnore": False,
            "oid": hashlib.sha1(b"blob 4\0card").hexdigest(),
        },
        {"path": PARQUET, "uploadMode": "lfs", "shouldIgnore": False, "oid": hashlib.sha256(parquet).hexdigest()},
        {"path": "x", "uploadMode": "regular", "shouldIgnore": False},
    ]
    assert call(hub, "POST", f"/api/datasets/{REPO}/preupload/main", {"files": files}, token=BOB)[0] == 403


def test_lfs_upload_checks_the_hash_and_commit_needs_the_object(hub):
    hub.add_repo(REPO)
    data, batch = b"PAR1 not really parquet", f"/datasets/{REPO}.git/info/lfs/objects/batch"
    oid = hashlib.sha256(data).hexdigest()
    lfs = {"Content-Type": "application/vnd.git-lfs+json", "Accept": "application/vnd.git-lfs+json"}
    lfs_op = {"key": "lfsFile", "value": {"path": "a.parquet", "algo": "sha256", "oid": oid, "size": len(data)}}
    request = {"operation": "upload", "transfers": ["basic"], "objects": [{"oid": oid, "size": len(data)}]}

    assert commit(hub, lfs_op)[0] == 400  # never uploaded
    status, _, body = call(hub, "POST", batch, json.dumps(request).encode(), headers=lfs)
    assert status == 200
    actions = body["objects"][0]["actions"]
    upload_path = actions["upload"]["href"].removeprefix(hub.endpoint)
    assert call(hub, "PUT", upload_path, b"other bytes", token=None)[0] == 400  # hash mismatch
    assert call(hub, "PUT", upload_path, data, token=None)[0] == 200  # presigned: no token needed
    verify = actions["verify"]["href"].removeprefix(hub.endpoint)
    assert call(hub, "POST", verify, {"oid": oid, "size": len(data)})[0] == 200
    assert call(hub, "POST", verify, {"oid": "0" * 64, "size": 1})[0] == 404
    status, _, body = call(hub, "POST", batch, json.dumps(request).encode(), headers=lfs)
    assert "actions" not in body["objects"][0]  # already stored

    status, _, body = commit(hub, lfs_op)
    assert status == 200 and body["commitOid"] == hub.head(REPO) and body["pullRequestUrl"] is None
    assert hub.files(REPO)["a.parquet"] == data
    assert call(hub, "POST", batch, json.dumps(request).encode(), headers=lfs, token=BOB)[0] == 403


def test_raw_commit_operations_and_their_errors(hub):
    initial = hub.add_repo(REPO)
    status, _, body = commit(hub, add_file("data/a.txt", b"a"), add_file("data/b.txt", b"b"), add_file("c.txt", b"c"))
    assert status == 200 and body["commitUrl"] == f"{hub.endpoint}/datasets/{REPO}/commit/{body['commitOid']}"
    assert commit(hub, add_file("d.txt", b"d"), parent=initial)[0] == 412
    status, headers, _ = commit(hub, {"key": "deletedFile", "value": {"path": "nope.txt"}})
    assert (status, headers["X-Error-Code"]) == (404, "EntryNotFound")
    assert commit(hub, add_file("../x", b"x"))[0] == 400
    assert commit(hub, add_file("e.txt", b"e"), token=BOB)[0] == 403
    delete = [{"key": "deletedFolder", "value": {"path": "data/"}}, {"key": "deletedFile", "value": {"path": "c.txt"}}]
    status, _, body = commit(hub, *delete, add_file("c.txt", b"c2"), summary="swap", parent=hub.head(REPO)[:7])
    assert status == 200
    assert hub.files(REPO) == {".gitattributes": GITATTRIBUTES, "c.txt": b"c2"}
    # The commit is served like any other: tree, resolve, commit list.
    _, _, tree = call(hub, "GET", f"/api/datasets/{REPO}/tree/main", token=None)
    assert [e["path"] for e in tree] == [".gitattributes", "c.txt"]
    status, headers, _ = call(hub, "HEAD", f"/datasets/{REPO}/resolve/main/c.txt", token=None)
    assert headers["X-Repo-Commit"] == body["commitOid"]
    _, _, commits = call(hub, "GET", f"/api/datasets/{REPO}/commits/main", token=None)
    assert [(c["id"], c["title"], c["authors"]) for c in commits][0] == (body["commitOid"], "swap", [{"user": "alice"}])
    assert [c[1] for c in hub.commits(REPO)] == ["initial commit", "raw commit", "swap"]


def test_fail_next_and_the_write_log(hub):
    hub.add_repo(REPO)
    hub.fail_next("GET", r"^/api/datasets/", status=503, times=2)
    statuses = [call(hub, "GET", f"/api/datasets/{REPO}")[0] for _ in range(3)]
    assert statuses == [503, 503, 200] and hub.faults_pending == 0
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    call(hub, "POST", f"/api/datasets/{REPO}/paths-info/main", b"paths=.gitattributes", headers=form)
    call(hub, "POST", "/api/validate-yaml", {"content": README, "repoType": "dataset"})
    assert hub.writes == []  # reads, including the read-only POSTs, are not writes
    commit(hub, add_file("a.txt", b"a"))
    call(hub, "DELETE", f"/api/datasets/{REPO}")  # unserved, but a write attempt all the same
    assert hub.writes == [("POST", f"/api/datasets/{REPO}/commit/main"), ("DELETE", f"/api/datasets/{REPO}")]
