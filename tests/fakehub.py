"""A loopback fake of the Hugging Face Hub, just big enough for huggingface_hub and datasets.

The real Hub cannot be reached from the test machines, so tests point ``HF_ENDPOINT`` at this
server instead. Dataset repos are served for reading and writing (create, preupload, git-LFS
upload, commit, card validation), with bearer-token auth; model repos exist only so that "the same
name, another repo type" can be tested. New endpoints are added by writing a handler and
decorating it with ``@route(method, regex)``.

Usage::

    from fakehub import FakeHub  # tests/ is on sys.path under pytest's default import mode

    hub = FakeHub()
    sha = hub.add_dataset_commit("org/name", {"README.md": b"...", "data/x.parquet": b"..."})
    with hub:
        subprocess.run([...], env=hub.client_env(tmp_path / "hf_home"), check=True)
    assert ("GET", "/api/datasets/org/name/revision/main") in hub.requests
    assert hub.unhandled == [] and hub.errors == []

Writing (see tests/test_fakehub_write.py)::

    hub = FakeHub(tokens={"hf_alice": "alice"})  # token -> user; a user writes to its own namespace
    with hub:
        env = {**hub.client_env(tmp_path / "home"), "HF_TOKEN": "hf_alice"}
        ...  # HfApi().create_repo(..., repo_type="dataset"), upload_folder(...), ...
    hub.commits("alice/ds")  # [(sha, summary), ...] oldest first, "initial commit" included
    hub.writes               # the requests that were part of a write (empty after a dry run)
    hub.fail_next("POST", r"/commit/", status=500)  # the next matching request gets a 500

Client facts this server relies on (huggingface_hub 2.4, datasets 5.2):
- revisions arrive URL-quoted (``refs%2Fpr%2F1``); tree paths are quoted with ``safe=""``;
- errors are told apart by the ``X-Error-Code`` header, not by the status code alone;
- a download needs ``X-Repo-Commit`` and ``ETag`` on the HEAD answer, and ``X-Repo-Commit``
  on a 404 too (the client then caches the file's absence under that commit);
- uploads only speak git-LFS, never Xet: client_env sets ``HF_HUB_DISABLE_XET=1``, without which
  huggingface_hub uploads through Xet (and upload_folder takes its multi-commit pipeline);
- LFS upload hrefs stand for presigned storage URLs: the client sends them no token;
- an unknown bearer token is refused everywhere with 401 "Invalid credentials in Authorization
  header" (the Hub's words, which the client keys on), even on public reads, as on the Hub.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from math import ceil
from urllib.parse import parse_qs, quote, unquote, urlsplit

try:  # PyYAML comes with datasets; without it cardData is simply left empty.
    import yaml
except ImportError:  # pragma: no cover
    yaml = None

# Files the Hub would store through git-LFS: its default .gitattributes covers these suffixes,
# and anything above 10 MB is rejected by plain git pushes.
LFS_SUFFIXES = (".parquet", ".arrow", ".bin", ".safetensors", ".gz", ".zip", ".zst", ".npy")
LFS_MIN_SIZE = 10 * 1024 * 1024
LFS_POINTER_SIZE = 134  # what a "version/oid/size" pointer file weighs; clients only display it

REPO = r"(?P<repo>[^/]+/[^/]+)"  # namespace/name, never quoted by the clients
REV = r"(?P<rev>[^/]+)"  # quoted with safe="", so it holds no raw slash
KIND = r"(?P<kind>datasets)"  # URL prefix of non-API paths (resolve); model repos have none
API_KIND = r"(?P<kind>datasets|models)"  # /api/{kind}/...; models are served minimally
# git-LFS endpoints: /datasets/ns/name.git/... for datasets, /ns/name.git/... for models.
LFS_API = rf"/(?:(?P<kind>datasets)/)?{REPO}\.git/info/lfs/objects"
LFS_STORE = r"/fake-lfs/(?P<oid>[0-9a-f]{64})"  # stands for the presigned S3 URLs the Hub hands out

# What a new repo's initial commit holds, like the Hub's (shorter) default .gitattributes.
GITATTRIBUTES = "".join(f"*{suffix} filter=lfs diff=lfs merge=lfs -text\n" for suffix in LFS_SUFFIXES).encode()
BAD_TOKEN = "Invalid credentials in Authorization header"  # the client tells bad tokens apart by this text


# --------------------------------------------------------------------------- repo state


def git_blob_sha1(data: bytes) -> str:
    """The git object id of a file, as the Hub reports it in `oid` / `blobId`."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def is_lfs(path: str, data: bytes) -> bool:
    return is_lfs_size(path, len(data))


def is_lfs_size(path: str, size: int) -> bool:
    """The upload mode preupload announces, decided before the bytes are seen."""
    return path.endswith(LFS_SUFFIXES) or size >= LFS_MIN_SIZE


def content_oid(path: str, data: bytes) -> str:
    """What preupload reports as `oid`: the client compares it with sha256 (LFS) / git sha1 (regular)."""
    return hashlib.sha256(data).hexdigest() if is_lfs(path, data) else git_blob_sha1(data)


def _now() -> str:
    # The Hub's format is the only one huggingface_hub's parse_datetime accepts.
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


@dataclass(frozen=True)
class Commit:
    sha: str
    parent: str | None
    files: Mapping[str, bytes]  # full snapshot of the repo at this commit
    message: str  # the summary (title)
    date: str
    description: str = ""
    author: str = "fake"


@dataclass
class Repo:
    repo_type: str
    repo_id: str
    private: bool = False
    created_at: str = field(default_factory=_now)
    branches: dict[str, str] = field(default_factory=dict)
    commits: dict[str, Commit] = field(default_factory=dict)

    def resolve(self, revision: str) -> Commit | None:
        """A branch name or a full commit sha, like the Hub's `revision` path segment."""
        sha = self.branches.get(revision, revision)
        return self.commits.get(sha)

    def commit(self, files: Mapping[str, bytes], deletions: Iterable[str], branch: str, message: str) -> Commit:
        parent = self.branches.get(branch)
        snapshot = dict(self.commits[parent].files) if parent else {}
        for path in deletions:
            snapshot.pop(path, None)
        snapshot.update(files)
        return self.commit_snapshot(snapshot, branch, message)

    def commit_snapshot(
        self, snapshot: Mapping[str, bytes], branch: str, message: str, description: str = "", author: str = "fake"
    ) -> Commit:
        """Make `snapshot` (the whole new file set) the next commit on `branch`."""
        parent = self.branches.get(branch)
        sha = _commit_sha(parent, snapshot, message, description)
        commit = Commit(sha, parent, dict(snapshot), message, _now(), description, author)
        self.commits[sha] = commit
        self.branches[branch] = sha
        return commit

    def history(self, sha: str) -> list[Commit]:
        """`sha` and its ancestors, newest first (what list_repo_commits returns)."""
        chain = [self.commits[sha]]
        while chain[-1].parent is not None:
            chain.append(self.commits[chain[-1].parent])
        return chain

    @property
    def url_prefix(self) -> str:
        return "" if self.repo_type == "model" else f"{self.repo_type}s/"


def _commit_sha(parent: str | None, files: Mapping[str, bytes], message: str, description: str = "") -> str:
    # Deterministic (no timestamp) so that tests can predict shas; the parent makes two
    # identical commits in a row still distinct, as in git.
    text = f"parent {parent}\nmessage {message}\n" + (f"description {description}\n" if description else "")
    h = hashlib.sha1(text.encode())
    for path in sorted(files):
        h.update(f"{git_blob_sha1(files[path])} {path}\n".encode())
    return h.hexdigest()


# --------------------------------------------------------------------------- HTTP plumbing


class HubError(Exception):
    """An error answer; `code` goes to X-Error-Code, which is what the client dispatches on."""

    def __init__(self, status: int, code: str | None, message: str, headers: dict | None = None):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
        self.headers = headers or {}


@dataclass
class Request:
    method: str
    path: str  # raw path, without the query string
    query: dict[str, list[str]]
    headers: Mapping[str, str]
    body: bytes
    params: dict[str, str]  # the route's named groups, URL-unquoted
    user: str | None = None  # whose valid bearer token came with the request

    def json(self) -> dict:
        try:
            data = json.loads(self.body or b"{}")
        except ValueError as err:
            raise HubError(400, None, f"Invalid JSON body: {err}") from err
        if not isinstance(data, dict):
            raise HubError(400, None, "The JSON body must be an object")
        return data

    def flag(self, name: str) -> bool:
        return self.query.get(name, ["false"])[-1].lower() in ("1", "true")

    def form(self) -> dict[str, list[str]]:
        if "json" in self.headers.get("Content-Type", ""):
            data = json.loads(self.body or b"{}")
            return {k: v if isinstance(v, list) else [v] for k, v in data.items()}
        return parse_qs(self.body.decode(), keep_blank_values=True)


@dataclass
class Reply:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)


def json_reply(data: object, status: int = 200, headers: dict | None = None) -> Reply:
    hdrs = {"Content-Type": "application/json", **(headers or {})}
    return Reply(status, json.dumps(data).encode(), hdrs)


Handler = Callable[["FakeHub", Request], Reply]
ROUTES: list[tuple[tuple[str, ...], re.Pattern[str], Handler, bool]] = []
READ_METHODS = ("GET", "HEAD")


def route(methods: str | tuple[str, ...], pattern: str, *, write: bool | None = None) -> Callable[[Handler], Handler]:
    """Register a handler; `pattern` must match the whole raw path (no query string).

    `write` says whether a request to it is part of writing (logged in `hub.writes`); by default
    every method but GET/HEAD is. Read-only POSTs (paths-info, validate-yaml) pass write=False.
    """
    methods = (methods,) if isinstance(methods, str) else methods
    is_write = any(m not in READ_METHODS for m in methods) if write is None else write

    def register(handler: Handler) -> Handler:
        ROUTES.append((methods, re.compile(pattern + r"\Z"), handler, is_write))
        return handler

    return register


def find_route(method: str, path: str) -> tuple[Handler, dict[str, str], bool] | None:
    for methods, pattern, handler, is_write in ROUTES:
        match = pattern.match(path)
        if match and method in methods:
            return handler, {k: unquote(v) for k, v in match.groupdict().items() if v is not None}, is_write
    return None


class _RequestHandler(BaseHTTPRequestHandler):
    # HTTP/1.1 so that the clients' keep-alive connections are reused, which needs an exact
    # Content-Length on every answer (always set in _send).
    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes; with Nagle on, each answer waits ~40 ms for the
    # client's delayed ACK, which made a load_dataset run several times slower.
    disable_nagle_algorithm = True
    server: _Server

    def do_GET(self) -> None:
        self._dispatch()

    do_HEAD = do_POST = do_PUT = do_DELETE = do_PATCH = do_GET

    def log_message(self, format: str, *args: object) -> None:
        pass  # hub.requests is the log; stderr noise would drown pytest output

    def _dispatch(self) -> None:
        hub = self.server.hub
        url = urlsplit(self.path)
        hub.requests.append((self.command, url.path))
        body = self._read_body()
        found = find_route(self.command, url.path)
        is_write = found[2] if found else self.command not in READ_METHODS  # unrouted: judged by method
        if is_write:
            hub.writes.append((self.command, url.path))
        if (status := hub.take_fault(self.command, url.path)) is not None:
            message = f"FakeHub: injected {status}"
            reply = json_reply({"error": message}, status, {"X-Error-Message": message})
        elif found is None:
            hub.unhandled.append((self.command, url.path))
            reply = json_reply({"error": "no such route in FakeHub"}, 404)
        else:
            handler, params, _ = found
            req = Request(self.command, url.path, parse_qs(url.query), self.headers, body, params)
            reply = hub.handle(handler, req)
        self._send(reply)

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            return self._read_chunked()
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def _read_chunked(self) -> bytes:
        # httpx streams generator bodies (e.g. NDJSON commits) chunked, without a length.
        chunks = []
        while size := int(self.rfile.readline().split(b";")[0], 16):
            chunks.append(self.rfile.read(size))
            self.rfile.readline()
        while self.rfile.readline() not in (b"\r\n", b"\n", b""):
            pass  # trailers
        return b"".join(chunks)

    def _send(self, reply: Reply) -> None:
        self.send_response(reply.status)
        headers = {"Content-Length": str(len(reply.body)), **reply.headers}
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(reply.body)


class _Server(ThreadingHTTPServer):
    daemon_threads = True  # idle keep-alive connections must not block stop()
    hub: FakeHub


# --------------------------------------------------------------------------- the fake Hub


@dataclass
class _Fault:
    method: str
    pattern: re.Pattern[str]
    status: int
    times: int


class FakeHub:
    """In-memory repos served over HTTP on 127.0.0.1 with an OS-assigned port.

    `tokens` maps bearer tokens to user names; `orgs` maps an organization to its members (who
    may write there too). `lfs_chunk_size`, when set, makes LFS objects bigger than it go through
    the multipart transfer (one PUT per chunk, then a completion POST) instead of a single PUT.
    """

    def __init__(
        self,
        tokens: Mapping[str, str] | None = None,
        orgs: Mapping[str, Iterable[str]] | None = None,
        lfs_chunk_size: int | None = None,
    ) -> None:
        self.repos: dict[tuple[str, str], Repo] = {}
        self.tokens = dict(tokens or {})
        self.orgs = {org: set(members) for org, members in (orgs or {}).items()}
        self.lfs_chunk_size = lfs_chunk_size
        self.lfs_objects: dict[str, bytes] = {}  # sha256 -> bytes, for every repo (uploaded or seeded)
        self.jobs: list[dict] = []  # every job spec submitted, with the Authorization header it came with
        self._lfs_parts: dict[str, dict[int, bytes]] = {}  # multipart uploads in progress
        self.requests: list[tuple[str, str]] = []  # (method, path without query), in order
        self.writes: list[tuple[str, str]] = []  # the subset that was part of a write (see route())
        self.unhandled: list[tuple[str, str]] = []  # the subset no route matched (answered 404)
        self.errors: list[str] = []  # handler crashes, answered 501
        self._faults: list[_Fault] = []
        self._lock = threading.Lock()  # one request at a time touches the repo state
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # ---- state set-up and inspection (used by tests directly, no HTTP)

    def add_dataset_commit(
        self,
        repo_id: str,
        files: Mapping[str, bytes],
        *,
        branch: str = "main",
        deletions: Iterable[str] = (),
        message: str = "fake commit",
        private: bool | None = None,
    ) -> str:
        """Commit `files` (added or overwritten) on top of `branch`, creating the repo if needed.

        A repo made here has no "initial commit" (unlike one made by add_repo or the create API).
        """
        with self._lock:
            key = ("dataset", repo_id)
            repo = self.repos.setdefault(key, Repo("dataset", repo_id))
            if private is not None:
                repo.private = private
            self.lfs_objects.update({hashlib.sha256(d).hexdigest(): d for p, d in files.items() if is_lfs(p, d)})
            return repo.commit(files, deletions, branch, message).sha

    def add_repo(self, repo_id: str, repo_type: str = "dataset", *, private: bool = False, author: str = "fake") -> str:
        """Create a repo as the Hub's create API does: one "initial commit" holding .gitattributes."""
        with self._lock:
            return self._create_repo(repo_type, repo_id, private, author).branches["main"]

    def add_model_repo(self, repo_id: str, *, private: bool = False) -> str:
        """A model repo (its own name space: a dataset of the same id is another repo)."""
        return self.add_repo(repo_id, "model", private=private)

    def _create_repo(self, repo_type: str, repo_id: str, private: bool, author: str) -> Repo:
        repo = self.repos[(repo_type, repo_id)] = Repo(repo_type, repo_id, private)
        repo.commit_snapshot({".gitattributes": GITATTRIBUTES}, "main", "initial commit", author=author)
        return repo

    def commits(self, repo_id: str, branch: str = "main", repo_type: str = "dataset") -> list[tuple[str, str]]:
        """[(sha, summary), ...] of `branch`'s history, oldest first."""
        repo = self.repos[(repo_type, repo_id)]
        return [(c.sha, c.message) for c in reversed(repo.history(repo.branches[branch]))]

    def fail_next(self, method: str, path_regex: str, status: int = 500, times: int = 1) -> None:
        """Answer the next `times` requests whose method matches and whose path `re.search`es
        `path_regex` with `status` (a JSON error), before any routing or auth."""
        with self._lock:
            self._faults.append(_Fault(method.upper(), re.compile(path_regex), status, times))

    @property
    def faults_pending(self) -> int:
        """How many injected answers are still waiting for a request."""
        return sum(f.times for f in self._faults)

    def take_fault(self, method: str, path: str) -> int | None:
        with self._lock:
            for fault in self._faults:
                if fault.method == method and fault.pattern.search(path):
                    fault.times -= 1
                    if fault.times == 0:
                        self._faults.remove(fault)
                    return fault.status
        return None

    def files(self, repo_id: str, revision: str = "main", repo_type: str = "dataset") -> dict:
        """The repo's content at `revision`: {path: bytes}."""
        commit = self.repos[(repo_type, repo_id)].resolve(revision)
        if commit is None:
            raise KeyError(revision)
        return dict(commit.files)

    def head(self, repo_id: str, branch: str = "main", repo_type: str = "dataset") -> str:
        return self.repos[(repo_type, repo_id)].branches[branch]

    # ---- server life cycle

    @property
    def endpoint(self) -> str:
        if self._server is None:
            raise RuntimeError("FakeHub is not running; use it as a context manager")
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def client_env(self, hf_home: str | os.PathLike, base: Mapping[str, str] | None = None) -> dict:
        """Environment for a client subprocess (the libraries read HF_ENDPOINT at import time).

        Every inherited HF_* variable is dropped so that no real token or cache leaks in.
        """
        inherited = os.environ if base is None else base
        env = {k: v for k, v in inherited.items() if not k.startswith(("HF_", "HUGGING_FACE_"))}
        env.update(
            HF_ENDPOINT=self.endpoint,
            HF_HOME=str(hf_home),
            HF_HUB_DISABLE_TELEMETRY="1",
            HF_HUB_DISABLE_UPDATE_CHECK="1",
            HF_HUB_DISABLE_XET="1",  # plain HTTP downloads and git-LFS uploads, which we serve
            HF_HUB_DISABLE_PROGRESS_BARS="1",
            HF_DATASETS_DISABLE_PROGRESS_BARS="1",
            # A proxy set in the environment would otherwise swallow loopback requests.
            NO_PROXY="127.0.0.1,localhost",
            no_proxy="127.0.0.1,localhost",
        )
        return env

    def start(self) -> FakeHub:
        self._server = _Server(("127.0.0.1", 0), _RequestHandler)
        self._server.hub = self
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._thread.join()
            self._server = self._thread = None

    def __enter__(self) -> FakeHub:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ---- request handling helpers

    def handle(self, handler: Handler, req: Request) -> Reply:
        try:
            with self._lock:
                req.user = self.authenticate(req)
                return handler(self, req)
        except HubError as err:
            headers = {"X-Error-Message": err.message, **err.headers}
            if err.code:
                headers["X-Error-Code"] = err.code
            return json_reply({"error": err.message}, err.status, headers)
        except Exception as err:
            # A bug in the fake. Not 500: the clients retry 5xx with back-off for ~20 s.
            self.errors.append(f"{req.method} {req.path}: {err!r}")
            return json_reply({"error": repr(err)}, 501)

    def authenticate(self, req: Request) -> str | None:
        """The user behind the bearer token; no header means anonymous, a bad one is refused."""
        header = req.headers.get("Authorization")
        if not header:
            return None
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or token.strip() not in self.tokens:
            raise HubError(401, None, BAD_TOKEN)
        return self.tokens[token.strip()]

    def require_user(self, req: Request) -> str:
        if req.user is None:
            raise HubError(401, None, "You must be authenticated (Authorization: Bearer <token>) to do this")
        return req.user

    def can_write(self, user: str | None, namespace: str) -> bool:
        return user is not None and (user == namespace or user in self.orgs.get(namespace, ()))

    def repo(self, req: Request) -> Repo:
        repo_type = req.params.get("kind", "models").removesuffix("s")
        repo = self.repos.get((repo_type, req.params["repo"]))
        # A private repo is invisible to anyone but its owners, as on the Hub.
        if repo is None or (repo.private and not self.can_write(req.user, repo.repo_id.split("/")[0])):
            raise HubError(404, "RepoNotFound", "Repository not found")
        return repo

    def writable_repo(self, req: Request) -> Repo:
        """The repo, for a request that changes it: a token (401), a visible repo (404), rights (403)."""
        user = self.require_user(req)
        repo = self.repo(req)
        if not self.can_write(user, repo.repo_id.split("/")[0]):
            raise HubError(403, None, f"{user} is not allowed to write to {repo.repo_id}")
        return repo

    def repo_url(self, repo: Repo) -> str:
        return f"{self.endpoint}/{repo.url_prefix}{repo.repo_id}"

    def commit_at(self, req: Request) -> tuple[Repo, Commit]:
        repo = self.repo(req)
        commit = repo.resolve(req.params.get("rev", "main"))  # no revision segment means main
        if commit is None:
            raise HubError(404, "RevisionNotFound", "Invalid rev id")
        return repo, commit


# --------------------------------------------------------------------------- JSON shapes


def file_entry(path: str, data: bytes) -> dict:
    """A tree / paths-info file entry; note the LFS hash is `oid` here, `sha256` in siblings."""
    entry = {"type": "file", "oid": git_blob_sha1(data), "size": len(data), "path": path}
    if is_lfs(path, data):
        sha256 = hashlib.sha256(data).hexdigest()
        entry["lfs"] = {"oid": sha256, "size": len(data), "pointerSize": LFS_POINTER_SIZE}
    return entry


def folder_entry(path: str, files: Mapping[str, bytes]) -> dict:
    inside = sorted(p for p in files if p.startswith(path + "/"))
    oid = hashlib.sha1("".join(f"{git_blob_sha1(files[p])} {p}\n" for p in inside).encode())
    return {"type": "directory", "oid": oid.hexdigest(), "size": 0, "path": path}


def last_commit_info(repo: Repo, commit: Commit, path: str) -> dict:
    """The newest ancestor that changed `path` (what `expand=True` adds to tree entries)."""
    current = commit
    while current.parent is not None:
        parent = repo.commits[current.parent]
        if _entry_state(parent, path) != _entry_state(current, path):
            break
        current = parent
    return {"id": current.sha, "title": current.message, "date": current.date}


def _entry_state(commit: Commit, path: str) -> object:
    if path in commit.files:
        return commit.files[path]
    return {p: d for p, d in commit.files.items() if p.startswith(path + "/")}


def folders_of(files: Iterable[str]) -> set[str]:
    return {path.rsplit("/", i)[0] for path in files for i in range(1, path.count("/") + 1)}


def card_data(files: Mapping[str, bytes]) -> dict:
    """The README's YAML front matter, which the Hub serves as `cardData`."""
    text = files.get("README.md", b"").decode(errors="replace")
    match = re.match(r"---\s*\n(.*?)\n---\s*(\n|$)", text, re.DOTALL)
    if yaml is None or match is None:
        return {}
    data = yaml.safe_load(match.group(1))
    return data if isinstance(data, dict) else {}


def sibling(path: str, data: bytes) -> dict:
    entry = {"rfilename": path, "size": len(data), "blobId": git_blob_sha1(data)}
    if is_lfs(path, data):
        sha256 = hashlib.sha256(data).hexdigest()
        entry["lfs"] = {"sha256": sha256, "size": len(data), "pointerSize": LFS_POINTER_SIZE}
    return entry


def repo_info_json(repo: Repo, commit: Commit) -> dict:
    namespace = repo.repo_id.split("/")[0]
    return {
        "_id": hashlib.sha1(repo.repo_id.encode()).hexdigest()[:24],
        "id": repo.repo_id,
        "author": namespace,
        "sha": commit.sha,
        "createdAt": repo.created_at,
        "lastModified": commit.date,
        "private": repo.private,
        "gated": False,
        "disabled": False,
        "downloads": 0,
        "likes": 0,
        "tags": [],
        "cardData": card_data(commit.files),
        "siblings": [sibling(p, d) for p, d in sorted(commit.files.items())],
        "usedStorage": sum(len(d) for d in commit.files.values()),
    }


# --------------------------------------------------------------------------- read routes


@route("GET", rf"/api/{API_KIND}/{REPO}")
@route("GET", rf"/api/{API_KIND}/{REPO}/revision/{REV}")
def get_repo_info(hub: FakeHub, req: Request) -> Reply:
    repo, commit = hub.commit_at(req)
    info = repo_info_json(repo, commit)
    if "expand" in req.query:  # like the Hub: only the asked-for properties, plus the ids
        keep = {"id", "_id", *req.query["expand"]}
        info = {k: v for k, v in info.items() if k in keep}
    return json_reply(info)


@route("GET", rf"/api/{API_KIND}/{REPO}/tree/{REV}(?:/(?P<path>.+))?")
def get_tree(hub: FakeHub, req: Request) -> Reply:
    repo, commit = hub.commit_at(req)
    base = req.params.get("path", "").strip("/")
    if base and base not in folders_of(commit.files):
        raise HubError(404, "EntryNotFound", f"{base} does not exist or is not a folder")
    prefix = base + "/" if base else ""
    paths = [p for p in commit.files if p.startswith(prefix)]
    folders = {f for f in folders_of(paths) if f.startswith(prefix)}
    entries = [file_entry(p, commit.files[p]) for p in paths]
    entries += [folder_entry(f, commit.files) for f in folders]
    if not req.flag("recursive"):  # direct children only
        entries = [e for e in entries if "/" not in e["path"][len(prefix) :]]
    if req.flag("expand"):
        for entry in entries:
            entry["lastCommit"] = last_commit_info(repo, commit, entry["path"])
    # The Hub lists folders before files; HfFileSystem does not care, humans reading logs do.
    return json_reply(sorted(entries, key=lambda e: (e["type"] == "file", e["path"])))


@route("POST", rf"/api/{API_KIND}/{REPO}/paths-info/{REV}", write=False)
def post_paths_info(hub: FakeHub, req: Request) -> Reply:
    repo, commit = hub.commit_at(req)
    form = req.form()
    folders = folders_of(commit.files)
    entries = []
    for path in form.get("paths", []):  # unknown paths are silently left out, as on the Hub
        path = path.strip("/")
        if path in commit.files:
            entries.append(file_entry(path, commit.files[path]))
        elif path in folders:
            entries.append(folder_entry(path, commit.files))
    if form.get("expand", ["false"])[-1].lower() == "true":
        for entry in entries:
            entry["lastCommit"] = last_commit_info(repo, commit, entry["path"])
    return json_reply(entries)


@route(("GET", "HEAD"), rf"/{KIND}/{REPO}/resolve/{REV}/(?P<path>.+)")
@route(("GET", "HEAD"), rf"/{REPO}/resolve/{REV}/(?P<path>.+)")  # model repos have no prefix
def resolve_file(hub: FakeHub, req: Request) -> Reply:
    _, commit = hub.commit_at(req)
    # X-Repo-Commit on the 404 too: the client caches the absence under that commit.
    base = {"X-Repo-Commit": commit.sha}
    data = commit.files.get(req.params["path"])
    if data is None:
        raise HubError(404, "EntryNotFound", "Entry not found", base)
    # The Hub's ETag is the git blob sha, or the sha256 for LFS files (served via X-Linked-Etag
    # behind a CDN redirect there); serving LFS bytes directly keeps the fake one hop shorter.
    etag = hashlib.sha256(data).hexdigest() if is_lfs(req.params["path"], data) else None
    headers = {
        **base,
        "ETag": f'"{etag or git_blob_sha1(data)}"',
        "Accept-Ranges": "bytes",
        "Content-Type": "application/octet-stream",
    }
    return ranged_reply(data, req.headers.get("Range"), headers)


def ranged_reply(data: bytes, range_header: str | None, headers: dict) -> Reply:
    """Serve one `bytes=a-b` / `bytes=a-` / `bytes=-n` range (fsspec and resumed downloads)."""
    if not range_header:
        return Reply(200, data, headers)
    match = re.fullmatch(r"bytes=(\d*)-(\d*)", range_header.strip())
    total = len(data)
    if match is None or match.groups() == ("", ""):
        return Reply(200, data, headers)  # multi-range or garbage: a full answer is legal
    first, last = match.groups()
    if first == "":
        start, end = max(total - int(last), 0), total - 1
    else:
        start, end = int(first), min(int(last), total - 1) if last else total - 1
    if start >= total or start > end:
        return Reply(416, b"", {**headers, "Content-Range": f"bytes */{total}"})
    ranged = {**headers, "Content-Range": f"bytes {start}-{end}/{total}"}
    return Reply(206, data[start : end + 1], ranged)


def resolve_url(endpoint: str, repo_id: str, revision: str, path: str) -> str:
    """The download URL a client builds, quoted the same way (handy in raw-HTTP tests)."""
    return f"{endpoint}/datasets/{repo_id}/resolve/{quote(revision, safe='')}/{quote(path)}"


# --------------------------------------------------------------------------- auth and repo creation


@route("GET", r"/api/whoami-v2")
def get_whoami(hub: FakeHub, req: Request) -> Reply:
    user = hub.require_user(req)
    orgs = [{"type": "org", "name": org} for org, members in sorted(hub.orgs.items()) if user in members]
    return json_reply(
        {
            "type": "user",
            "id": hashlib.sha1(user.encode()).hexdigest()[:24],
            "name": user,
            "fullname": user,
            "orgs": orgs,
            "auth": {"type": "access_token", "accessToken": {"displayName": "fakehub", "role": "write"}},
        }
    )


@route("POST", r"/api/repos/create")
def post_create_repo(hub: FakeHub, req: Request) -> Reply:
    user = hub.require_user(req)
    body = req.json()
    name, namespace, repo_type = body.get("name"), body.get("organization") or user, body.get("type") or "model"
    if not isinstance(name, str) or not re.fullmatch(r"[\w.-]{1,96}", name):
        raise HubError(400, None, f"Invalid repo name {name!r}")
    if repo_type not in ("dataset", "model"):
        raise HubError(400, None, f"FakeHub does not serve {repo_type} repos")
    if not hub.can_write(user, namespace):
        raise HubError(403, None, f"You don't have the rights to create a {repo_type} under the namespace {namespace}")
    repo_id = f"{namespace}/{name}"
    if (existing := hub.repos.get((repo_type, repo_id))) is not None:
        # `url` in the body is what create_repo(exist_ok=True) returns.
        error = f"You already created this {repo_type} repo"
        return json_reply({"error": error, "url": hub.repo_url(existing)}, 409, {"X-Error-Message": error})
    private = body.get("private") is True or body.get("visibility") == "private"
    repo = hub._create_repo(repo_type, repo_id, private, user)
    return json_reply({"url": hub.repo_url(repo), "name": repo_id, "id": repo_id})


# --------------------------------------------------------------------------- card validation


@route("POST", r"/api/validate-yaml", write=False)
def post_validate_yaml(hub: FakeHub, req: Request) -> Reply:
    content = req.json().get("content")
    if not isinstance(content, str):
        raise HubError(400, None, "`content` must be a string")
    errors, warnings = check_card_yaml(content)
    body = {"errors": [{"message": m} for m in errors], "warnings": [{"message": m} for m in warnings]}
    if errors:
        body["error"] = "\n".join(errors)
    return json_reply(body, 400 if errors else 200)


def check_card_yaml(content: str) -> tuple[list[str], list[str]]:
    """A light version of the Hub's check: the YAML parses to a mapping, and `configs` is well formed."""
    match = re.match(r"---\s*\n(.*?)\n---\s*(\n|$)", content, re.DOTALL)
    if match is None:
        return [], ["empty or missing yaml metadata in repo card"]
    if yaml is None:  # pragma: no cover
        return [], []
    try:
        data = yaml.safe_load(match.group(1))
    except yaml.YAMLError as err:
        return [f"Invalid YAML in the card metadata: {err}"], []
    if data is None:
        return [], ["empty or missing yaml metadata in repo card"]
    if not isinstance(data, dict):
        return ["The card metadata must be a YAML mapping"], []
    return _check_configs(data.get("configs")), []


def _check_configs(configs: object) -> list[str]:
    if configs is None:
        return []
    if not isinstance(configs, list):
        return ['"configs" must be a list']
    errors, names = [], []
    for i, config in enumerate(configs):
        if not isinstance(config, dict) or not isinstance(config.get("config_name"), str):
            errors.append(f'"configs[{i}]" must be a mapping with a string "config_name"')
            continue
        names.append(config["config_name"])
        files = config.get("data_files")
        entries = files if isinstance(files, list) else [files]
        if files is not None and not all(isinstance(e, str) or _is_split_entry(e) for e in entries):
            errors.append(f'"configs[{i}].data_files" must be paths or {{split, path}} mappings')
    errors += [f'config_name "{n}" is used more than once' for n in sorted({n for n in names if names.count(n) > 1})]
    return errors


def _is_split_entry(entry: object) -> bool:
    return (
        isinstance(entry, dict) and isinstance(entry.get("split"), str) and isinstance(entry.get("path"), (str, list))
    )


# --------------------------------------------------------------------------- uploads: preupload and git-LFS


@route("POST", rf"/api/{API_KIND}/{REPO}/preupload/{REV}")
def post_preupload(hub: FakeHub, req: Request) -> Reply:
    hub.writable_repo(req)
    _, commit = hub.commit_at(req)
    answers = []
    for item in req.json().get("files", []):
        path, size = item["path"], item["size"]
        answer = {"path": path, "uploadMode": "lfs" if is_lfs_size(path, size) else "regular", "shouldIgnore": False}
        if path in commit.files:  # lets the client drop unchanged files from the commit
            answer["oid"] = content_oid(path, commit.files[path])
        answers.append(answer)
    return json_reply({"files": answers})


def lfs_reply(data: object) -> Reply:
    return json_reply(data, headers={"Content-Type": "application/vnd.git-lfs+json"})


@route("POST", rf"{LFS_API}/batch")
def post_lfs_batch(hub: FakeHub, req: Request) -> Reply:
    repo = hub.writable_repo(req)
    body = req.json()
    if body.get("operation") != "upload":
        raise HubError(400, None, "FakeHub only serves LFS uploads")
    verify = {"href": f"{hub.repo_url(repo)}.git/info/lfs/objects/verify"}
    objects = [lfs_batch_object(hub, obj, verify) for obj in body.get("objects", [])]
    return lfs_reply({"transfer": "basic", "objects": objects, "hash_algo": "sha256"})


def lfs_batch_object(hub: FakeHub, obj: dict, verify: dict) -> dict:
    oid, size = obj.get("oid"), obj.get("size")
    if not (isinstance(oid, str) and re.fullmatch(r"[0-9a-f]{64}", oid) and isinstance(size, int) and size >= 0):
        return {"oid": str(oid), "size": size if isinstance(size, int) else 0, "error": {"code": 422, "message": "bad"}}
    if oid in hub.lfs_objects:
        return {"oid": oid, "size": size}  # no actions: already stored, nothing to upload
    upload: dict = {"href": f"{hub.endpoint}/fake-lfs/{oid}"}
    if hub.lfs_chunk_size and size > hub.lfs_chunk_size:
        parts = ceil(size / hub.lfs_chunk_size)
        upload["header"] = {"chunk_size": str(hub.lfs_chunk_size)}
        upload["header"].update({str(n): f"{upload['href']}/part/{n}" for n in range(1, parts + 1)})
    return {"oid": oid, "size": size, "authenticated": True, "actions": {"upload": upload, "verify": verify}}


def store_lfs(hub: FakeHub, oid: str, data: bytes) -> None:
    if hashlib.sha256(data).hexdigest() != oid:
        raise HubError(400, None, f"The uploaded content does not hash to {oid}")
    hub.lfs_objects[oid] = data


def etag(data: bytes) -> dict[str, str]:
    return {"ETag": f'"{hashlib.md5(data).hexdigest()}"'}


@route("PUT", LFS_STORE)
def put_lfs_object(hub: FakeHub, req: Request) -> Reply:
    store_lfs(hub, req.params["oid"], req.body)
    return Reply(200, b"", etag(req.body))


@route("PUT", rf"{LFS_STORE}/part/(?P<part>[1-9][0-9]*)")
def put_lfs_part(hub: FakeHub, req: Request) -> Reply:
    hub._lfs_parts.setdefault(req.params["oid"], {})[int(req.params["part"])] = req.body
    return Reply(200, b"", etag(req.body))


@route("POST", LFS_STORE)
def post_lfs_multipart_done(hub: FakeHub, req: Request) -> Reply:
    oid, stored = req.params["oid"], hub._lfs_parts.get(req.params["oid"], {})
    parts = sorted(req.json().get("parts", []), key=lambda p: p["partNumber"])
    if [p["partNumber"] for p in parts] != sorted(stored) or any(
        etag(stored[p["partNumber"]])["ETag"] != p["etag"] for p in parts
    ):
        raise HubError(400, None, "The parts listed do not match the parts uploaded")
    store_lfs(hub, oid, b"".join(stored[p["partNumber"]] for p in parts))
    del hub._lfs_parts[oid]
    return lfs_reply({})


@route("POST", rf"{LFS_API}/verify")
def post_lfs_verify(hub: FakeHub, req: Request) -> Reply:
    hub.writable_repo(req)
    body = req.json()
    data = hub.lfs_objects.get(body.get("oid"))
    if data is None or len(data) != body.get("size"):
        raise HubError(404, None, f"LFS object {body.get('oid')} of size {body.get('size')} was not uploaded")
    return lfs_reply({"success": True})


# --------------------------------------------------------------------------- commits


@route("POST", rf"/api/{API_KIND}/{REPO}/commit/{REV}")
def post_commit(hub: FakeHub, req: Request) -> Reply:
    repo = hub.writable_repo(req)
    branch = req.params["rev"]
    if req.flag("create_pr"):
        raise HubError(400, None, "FakeHub does not open pull requests")
    if branch not in repo.branches:  # a commit goes on a branch, never on a sha
        raise HubError(404, "RevisionNotFound", "Invalid rev id")
    try:
        lines = [json.loads(line) for line in req.body.splitlines() if line.strip()]
    except ValueError as err:
        raise HubError(400, None, f"Invalid NDJSON: {err}") from err
    if not lines or lines[0].get("key") != "header" or not str(lines[0]["value"].get("summary", "")).strip():
        raise HubError(400, None, "The first line must be a header with a non-empty summary")
    header, head = lines[0]["value"], repo.branches[branch]
    parent = header.get("parentCommit")
    if parent and not head.startswith(str(parent).lower()):
        raise HubError(412, None, "A commit has happened since. Please refresh and try again.")
    files = dict(repo.commits[head].files)
    for line in lines[1:]:
        apply_operation(hub, files, line.get("key"), line.get("value") or {})
    commit = repo.commit_snapshot(files, branch, header["summary"], header.get("description") or "", req.user)
    url = f"{hub.repo_url(repo)}/commit/{commit.sha}"
    return json_reply({"success": True, "commitOid": commit.sha, "commitUrl": url, "pullRequestUrl": None})


def apply_operation(hub: FakeHub, files: dict[str, bytes], key: str | None, value: dict) -> None:
    path = value.get("path")
    if not isinstance(path, str) or not path or path.startswith("/") or ".." in path.split("/"):
        raise HubError(400, None, f"Invalid path {path!r} in a {key} operation")
    if key == "file":
        content = value.get("content", "")
        files[path] = base64.b64decode(content) if value.get("encoding") == "base64" else content.encode()
    elif key == "lfsFile":
        data = hub.lfs_objects.get(value.get("oid"))
        if data is None or value.get("size", len(data)) != len(data):
            raise HubError(
                400,
                None,
                f"Your push was rejected because an LFS pointer pointed to a file that does not exist: {path}",
            )
        files[path] = data
    elif key == "deletedFile":
        if files.pop(path, None) is None:
            raise HubError(404, "EntryNotFound", f"A file with this name doesn't exist: {path}")
    elif key == "deletedFolder":
        inside = [p for p in files if p.startswith(path.rstrip("/") + "/")]
        if not inside:
            raise HubError(404, "EntryNotFound", f"A folder with this name doesn't exist: {path}")
        for p in inside:
            del files[p]
    else:
        raise HubError(400, None, f"Unknown commit operation {key!r}")


@route("GET", rf"/api/{API_KIND}/{REPO}/commits/{REV}")
def get_commits(hub: FakeHub, req: Request) -> Reply:
    repo, commit = hub.commit_at(req)
    history = repo.history(commit.sha)
    return json_reply(
        [
            {"id": c.sha, "title": c.message, "message": c.description, "date": c.date, "authors": [{"user": c.author}]}
            for c in history
        ]
    )


@route("POST", rf"/api/{API_KIND}/{REPO}/branch/{REV}")
def post_branch(hub: FakeHub, req: Request) -> Reply:
    """create_branch: a new branch at `startingPoint` (default: main's head); 409 if it exists."""
    repo = hub.writable_repo(req)
    branch = req.params["rev"]
    if branch in repo.branches:
        raise HubError(409, None, f"Reference already exists: refs/heads/{branch}")
    start = repo.resolve(req.json().get("startingPoint") or "main")
    if start is None:
        raise HubError(404, "RevisionNotFound", "Invalid rev id")
    repo.branches[branch] = start.sha
    return json_reply({})


@route("POST", r"/api/jobs/(?P<namespace>[\w.-]+)")
def post_job(hub: FakeHub, req: Request) -> Reply:
    """run_job / run_uv_job: the spec is recorded (hub.jobs) and the job stays SCHEDULING; nothing runs."""
    user = hub.require_user(req)
    namespace = req.params["namespace"]
    if not hub.can_write(user, namespace):
        raise HubError(403, None, f"{user} cannot run jobs under {namespace}")
    spec = req.json()
    job_id = hashlib.sha1(json.dumps(spec, sort_keys=True).encode() + str(len(hub.jobs)).encode()).hexdigest()[:24]
    hub.jobs.append(
        {"id": job_id, "namespace": namespace, "spec": spec, "authorization": req.headers.get("Authorization")}
    )
    owner = {"id": f"id-{namespace}", "name": namespace, "type": "user"}
    info = {
        "id": job_id,
        "createdAt": _now(),
        "dockerImage": spec.get("dockerImage"),
        "command": spec.get("command"),
        "arguments": spec.get("arguments"),
        "environment": spec.get("environment"),
        "secrets": sorted(spec.get("secrets") or {}),  # the Hub echoes secret names only
        "flavor": spec.get("flavor"),
        "labels": spec.get("labels"),
        "status": {"stage": "SCHEDULING", "message": None},
        "owner": owner,
    }
    return json_reply(info)


def parquet_bytes(rows: list[dict]) -> bytes:
    """A parquet file's bytes, to commit to the fake Hub."""
    import io

    import pyarrow as pa
    import pyarrow.parquet as pq

    buffer = io.BytesIO()
    pq.write_table(pa.Table.from_pylist(rows), buffer)
    return buffer.getvalue()


# A dataset card whose YAML names one train split under data/, as the Hub's converted datasets have.
TRAIN_CARD = """---
license: apache-2.0
configs:
- config_name: default
  data_files:
  - split: train
    path: data/train-*
---
# Math preference pairs
"""
