"""The eval output folder, written atomically: per-item parquet files and results.json, staged beside `out` and
swapped in at the end (curate/output.py's staged_output). A folder is replaced only when it is empty or exactly what
a previous `curate eval` wrote (its results.json lists every file)."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterable
from pathlib import Path, PurePosixPath

from curate.errors import OutputError

RESULTS = "results.json"
EVAL_FORMAT = 1  # results.json's layout version; its presence marks a folder curate eval wrote


def check_out_folder(out: Path) -> None:
    """Before any model is loaded: `out` must be new, empty or a previous eval folder, in a writable place."""
    out = Path(out).resolve()
    if out.exists() and not out.is_dir():
        raise OutputError(f"output path {out} is a file", hint="Choose a folder path for --out.")
    if out.is_dir() and any(out.iterdir()) and not is_eval_folder(out):
        raise OutputError(
            f"{out} is not empty and is not a folder curate eval wrote (no results.json listing its files); "
            "refusing to replace it",
            hint="Choose a new --out folder, or remove this one yourself.",
        )
    parent = out.parent
    while not parent.exists():
        parent = parent.parent
    if not os.access(parent, os.W_OK | os.X_OK):
        raise OutputError(
            f"cannot write {out}: {parent} is not writable", hint="Choose an --out folder you can write to."
        )


def is_eval_folder(out: Path) -> bool:
    try:
        results = json.loads((out / RESULTS).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    if not isinstance(results, dict) or "eval_format" not in results or not isinstance(results.get("files"), dict):
        return False
    listed = {*results["files"], RESULTS}
    listed |= {parent.as_posix() for name in listed for parent in PurePosixPath(name).parents if parent.parts}
    found = {p.relative_to(out).as_posix() for p in out.rglob("*")}
    return found <= listed


def write_eval_folder(out: Path, files: dict[str, bytes], results: dict, inputs: Iterable[Path] = ()) -> None:
    """Write `files` (relative path -> bytes) and results.json into `out` in one swap. A previous eval folder is
    retired beside it under the name output.py's stale-staging cleanup restores if this process dies mid-swap."""
    from curate.output import staged_output

    out = Path(out).resolve()
    check_out_folder(out)
    retired = None
    if out.is_dir() and any(out.iterdir()):
        retired = out.parent / f".{out.name}.old-{os.getpid()}"
        out.rename(retired)
    try:
        with staged_output(out, inputs) as staged:
            staged.write(lambda folder: _fill(folder, files, results))
    except BaseException:
        if retired is not None and not out.exists():
            retired.rename(out)
        raise
    if retired is not None:
        shutil.rmtree(retired, ignore_errors=True)


def _fill(folder: Path, files: dict[str, bytes], results: dict) -> None:
    for name, data in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(data)
    (folder / RESULTS).write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
