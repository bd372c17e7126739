"""A loopback fake of the Hugging Face Hub, just big enough for huggingface_hub and datasets.

The real Hub cannot be reached from the test machines, so tests point ``HF_ENDPOINT`` at this
server instead. Only the read side of dataset repos is served for now; new endpoints are added
by writing a handler and decorating it with ``@route(method, regex)``.

Usage::

    from fakehub import FakeHub  # tests/ is on sys.path under pytest's default import mode

    hub = FakeHub()
    sha = hub.add_dataset_commit("org/name", {"README.md": b"...", "data/x.parquet": b"..."})
    with hub:
        subprocess.run([...], env=hub.client_env(tmp_path / "hf_home"), check=True)
    assert ("GET", "/api/datasets/org/name/revision/main") in hub.requests
    assert hub.unhandled == [] and hub.errors == []

Client facts this server relies on (huggingface_hub 2.4, datasets 5.2):
- revisions arrive URL-quoted (``refs%2Fpr%2F1``); tree paths are quoted with ``safe=""``;
- errors are told apart by the ``X-Error-Code`` header, not by the status code alone;
- a download needs ``X-Repo-Commit`` and ``ETag`` on the HEAD answer, and ``X-Repo-Commit``
  on a 404 too (the client then caches the file's absence under that commit).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
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
KIND = r"(?P<kind>datasets)"  # models/spaces can be added here once the tests need them


# --------------------------------------------------------------------------- repo state


def git_blob_sha1(data: bytes) -> str:
    """The git object id of a file, as the Hub reports it in `oid` / `blobId`."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def is_lfs(path: str, data: bytes) -> bool:
    return path.endswith(LFS_SUFFIXES) or len(data) >= LFS_MIN_SIZE


def _now() -> str:
    # The Hub's format is the only one huggingface_hub's parse_datetime accepts.
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


@dataclass(frozen=True)
class Commit:
    sha: str
    parent: str | None
    files: Mapping[str, bytes]  # full snapshot of the repo at this commit
    message: str
    date: str


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
        sha = _commit_sha(parent, snapshot, message)
        commit = Commit(sha, parent, snapshot, message, _now())
        self.commits[sha] = commit
        self.branches[branch] = sha
        return commit


def _commit_sha(parent: str | None, files: Mapping[str, bytes], message: str) -> str:
    # Deterministic (no timestamp) so that tests can predict shas; the parent makes two
    # identical commits in a row still distinct, as in git.
    h = hashlib.sha1(f"parent {parent}\nmessage {message}\n".encode())
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
ROUTES: list[tuple[tuple[str, ...], re.Pattern[str], Handler]] = []


def route(methods: str | tuple[str, ...], pattern: str) -> Callable[[Handler], Handler]:
    """Register a handler; `pattern` must match the whole raw path (no query string)."""
    methods = (methods,) if isinstance(methods, str) else methods

    def register(handler: Handler) -> Handler:
        ROUTES.append((methods, re.compile(pattern + r"\Z"), handler))
        return handler

    return register


def find_route(method: str, path: str) -> tuple[Handler, dict[str, str]] | None:
    for methods, pattern, handler in ROUTES:
        match = pattern.match(path)
        if match and method in methods:
            return handler, {k: unquote(v) for k, v in match.groupdict().items() if v is not None}
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
        if found is None:
            hub.unhandled.append((self.command, url.path))
            reply = json_reply({"error": "no such route in FakeHub"}, 404)
        else:
            handler, params = found
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


class FakeHub:
    """In-memory repos served over HTTP on 127.0.0.1 with an OS-assigned port."""

    def __init__(self) -> None:
        self.repos: dict[tuple[str, str], Repo] = {}
        self.requests: list[tuple[str, str]] = []  # (method, path without query), in order
        self.unhandled: list[tuple[str, str]] = []  # the subset no route matched (answered 404)
        self.errors: list[str] = []  # handler crashes, answered 501
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
    ) -> str:
        """Commit `files` (added or overwritten) on top of `branch`, creating the repo if needed."""
        with self._lock:
            key = ("dataset", repo_id)
            repo = self.repos.setdefault(key, Repo("dataset", repo_id))
            return repo.commit(files, deletions, branch, message).sha

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

    def repo(self, req: Request) -> Repo:
        repo_type = req.params["kind"].removesuffix("s")
        repo = self.repos.get((repo_type, req.params["repo"]))
        if repo is None:
            raise HubError(404, "RepoNotFound", "Repository not found")
        return repo

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


@route("GET", rf"/api/{KIND}/{REPO}")
@route("GET", rf"/api/{KIND}/{REPO}/revision/{REV}")
def get_repo_info(hub: FakeHub, req: Request) -> Reply:
    repo, commit = hub.commit_at(req)
    info = repo_info_json(repo, commit)
    if "expand" in req.query:  # like the Hub: only the asked-for properties, plus the ids
        keep = {"id", "_id", *req.query["expand"]}
        info = {k: v for k, v in info.items() if k in keep}
    return json_reply(info)


@route("GET", rf"/api/{KIND}/{REPO}/tree/{REV}(?:/(?P<path>.+))?")
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


@route("POST", rf"/api/{KIND}/{REPO}/paths-info/{REV}")
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
