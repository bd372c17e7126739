"""Read local parquet, JSON, JSONL and folders into one polars frame, with errors that name file and line."""

from __future__ import annotations

import codecs
import json
import re
import stat
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from curate.errors import InputError, first_line

JSONL_SUFFIXES = {".jsonl", ".ndjson"}
DATA_SUFFIXES = {".parquet", ".json", *JSONL_SUFFIXES}
# Words a lone file's name (or folder) may use for a split other than the one asked for.
SPLIT_WORDS = {"train", "training", "validation", "valid", "val", "dev", "development", "test", "testing", "eval"}
SHARD_NAME = re.compile(r"(.+)-\d{5}-of-\d{5}")  # the Hub's layout: train-00000-of-00002
EXAMPLES = 5  # rows an error names at most
SHOWN_CHARS = 60  # of a value quoted in an error
DEEP_NESTING = re.compile(rb"(?:[\[{]\s*){500}")  # a run of openers that deep is where json.loads gave up

NEWLINE = b"\n"
Place = Callable[[int], str]  # where a file's n-th row is: "x.jsonl, line 7"


@dataclass(frozen=True)
class NumbersInText:
    """A column read as text although some rows held numbers (a rating written 7.5 here and "high" there):
    validation names such rows for a rating; a text column (prompt, responses) must refuse them."""

    rows: list[int]  # 0-based over all files read
    examples: list[str]  # the first EXAMPLES: "row 3 (x.jsonl, line 4): 5"


@dataclass(frozen=True)
class SourceRows:
    frame: pl.DataFrame
    numbers_in_text: dict[str, NumbersInText] = field(default_factory=dict)


@dataclass(frozen=True)
class _FileRows:
    frame: pl.DataFrame
    numbers: dict[str, list[int]]  # column read as text -> the file's rows that held numbers
    place: Place


def source_files(path: Path, split: str) -> list[Path]:
    """The files of a local file or folder that hold the split."""
    if not path.exists():
        raise InputError(f"source not found: {path}", hint="Pass an existing file or folder to --source.")
    if path.is_dir():
        return _folder_files(path, split)
    _require_regular_file(path)
    return [path]


def read_files(files: list[Path]) -> SourceRows:
    parts = [_read(f) for f in files]
    frame = _concat([p.frame for p in parts], files)
    return SourceRows(frame, _numbers_in_text(parts, frame))


def read_file(path: Path) -> pl.DataFrame:
    return _read(path).frame


def _read(path: Path) -> _FileRows:
    if path.is_dir():
        return _FileRows(_require_rows(_read_saved_dataset(path), path), {}, _row_place(path))
    _require_regular_file(path)
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        return _FileRows(_require_rows(_read_parquet(path), path), {}, _row_place(path))
    if suffix in JSONL_SUFFIXES:
        fast = _read_plain_jsonl(path)
        return fast or _rows_to_frame(_read_jsonl(path), _line_place(path), path)
    if suffix == ".json":
        return _rows_to_frame(_read_json_array(path), lambda index: f"{path}, item {index}", path)
    raise InputError(
        f"{path}: unsupported file type {suffix or '(none)'}",
        hint="Use parquet, JSON (an array of objects) or JSONL (one object per line).",
    )


def _require_regular_file(path: Path) -> None:
    """Refuse devices, pipes and sockets before opening them: reading a FIFO would wait forever."""
    if path.is_file():
        return
    if not path.exists():
        raise InputError(f"{path}: file not found")
    mode = path.stat().st_mode
    kinds = [(stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device")]
    kinds += [(stat.S_ISFIFO, "a named pipe"), (stat.S_ISSOCK, "a socket")]
    kind = next((name for is_kind, name in kinds if is_kind(mode)), "neither a file nor a folder")
    raise InputError(
        f"{path}: not a regular file (it is {kind}); expected a parquet, JSON or JSONL file or a folder of them",
        hint="Pass a file or folder to --source; devices and pipes cannot be read as a dataset.",
    )


def _no_rows(path: Path) -> InputError:
    return InputError(f"{path}: no rows (the file is empty)", hint="Point the source at a file that holds rows.")


def _require_rows(frame: pl.DataFrame, path: Path) -> pl.DataFrame:
    if frame.height == 0:
        raise _no_rows(path)
    return frame


def _row_place(path: Path) -> Place:
    return lambda index: f"{path}, row {index}"


def _line_place(path: Path) -> Place:
    """Line numbers are looked up only when an error or a mixed column needs them: the file is read again
    then, so clean files cost nothing here."""
    lines: list[int] = []

    def place(index: int) -> str:
        if not lines:
            text = _decode(path)
            lines.extend(number for number, line in enumerate(text.split("\n"), start=1) if line.strip())
        return f"{path}, line {lines[index]}"

    return place


def _folder_files(folder: Path, split: str) -> list[Path]:
    if (folder / "state.json").exists() or (folder / "dataset_dict.json").exists():
        return [folder]  # a save_to_disk folder: read whole by datasets
    files = sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in DATA_SUFFIXES)
    files = [p for p in files if not _is_metadata_file(p)]
    if not files:
        raise InputError(f"{folder}: no parquet, JSON or JSONL files found")
    relative = [p.relative_to(folder) for p in files]
    of_split = [p for p, name in zip(files, relative, strict=True) if _names_split(name, split)]
    if of_split:
        return of_split
    named = {other for name in relative if (other := _other_split(name, split))}
    others = sorted(named, key=lambda other: (_first_word(other) != _first_word(split), other))  # train_* first
    if len(files) == 1 and not others:
        return files  # one file with a neutral name (data.jsonl): it is the data, whatever the split is called
    # Reading files that name no split, or another one, could pass a test split off as training data.
    names = ", ".join(name.as_posix() for name in relative[:6])
    hint = "Pass --split with the split's name as the file names spell it (e.g. train_prefs)."
    if others:
        hint = f"Pass --split with one of the splits the files name: {', '.join(others)} (e.g. --split {others[0]})."
    raise InputError(
        f"{folder}: no file names the split {split!r} (files: {names}{', ...' if len(files) > 6 else ''})",
        hint=hint,
    )


def _is_metadata_file(path: Path) -> bool:
    return path.name in {"dataset_info.json", "dataset_infos.json", "report.json", "state.json"}


def _names_split(relative: Path, split: str) -> bool:
    """Hub layout: `data/train-00000-of-00001.parquet`, `train.jsonl` or `train/xxx.parquet`."""
    stem = relative.name.split(".")[0]
    return stem == split or stem.startswith(f"{split}-") or split in relative.parts[:-1]


def _other_split(relative: Path, split: str) -> str | None:
    """The split a file's name gives it when that is not `split`, spelled as --split would need it."""
    stem = relative.name.split(".")[0]
    shard = SHARD_NAME.fullmatch(stem)
    if shard:
        return shard.group(1)
    asked = _first_word(split)
    for name in (stem, *relative.parts[:-1]):
        word = _first_word(name)
        if word in SPLIT_WORDS and word != asked:
            return name
    return None


def _first_word(name: str) -> str:
    return re.split(r"[_\-. ]", name.lower(), maxsplit=1)[0]


def _concat(frames: list[pl.DataFrame], files: list[Path]) -> pl.DataFrame:
    if len(frames) == 1:
        return frames[0]
    try:  # one chunk per column (see _read_plain_jsonl: polars 2.1 panics on some many-chunk strings)
        return pl.concat(frames, how="diagonal_relaxed").rechunk()
    except pl.exceptions.PolarsError as err:
        names = ", ".join(str(f) for f in files)
        raise InputError(f"files do not share one schema ({names}): {err}") from None


def _numbers_in_text(parts: list[_FileRows], frame: pl.DataFrame) -> dict[str, NumbersInText]:
    """Rows that held numbers in the columns the frame holds as text: mixed within a file, or a file whose
    column is all numbers while another file's is text (concat turns the numbers into text)."""
    found: dict[str, NumbersInText] = {}
    offset = 0
    for part in parts:
        for name in part.frame.columns:
            if frame.schema[name] != pl.String:
                continue
            column = part.frame[name]
            rows = part.numbers.get(name, [])
            if column.dtype.is_numeric():
                rows = column.is_not_null().arg_true().to_list()
            if rows:
                _add_rows(found, name, rows, offset, part, column)
        offset += part.frame.height
    return found


def _add_rows(
    found: dict[str, NumbersInText], name: str, rows: list[int], offset: int, part: _FileRows, column: pl.Series
) -> None:
    before = found.get(name, NumbersInText([], []))
    room = EXAMPLES - len(before.examples)
    examples = [f"row {offset + row} ({part.place(row)}): {column[row]}" for row in rows[:room]]
    found[name] = NumbersInText(before.rows + [offset + row for row in rows], before.examples + examples)


def _read_parquet(path: Path) -> pl.DataFrame:
    try:
        return pl.read_parquet(path)
    except (pl.exceptions.PolarsError, OSError) as err:
        raise InputError(f"{path}: not a readable parquet file ({first_line(err)})") from None


def _read_saved_dataset(folder: Path) -> pl.DataFrame:
    import datasets

    try:
        loaded = datasets.load_from_disk(str(folder))
    except Exception as err:  # datasets raises many kinds here; all mean "not a saved dataset"
        raise InputError(f"{folder}: not a readable save_to_disk folder ({first_line(err)})") from None
    if isinstance(loaded, datasets.DatasetDict):
        raise InputError(f"{folder} holds splits {sorted(loaded)}", hint="Point --source at one split's folder.")
    return pl.from_arrow(loaded.data.table)


def _decode(path: Path) -> str:
    data = path.read_bytes()
    # Windows tools and spreadsheet exports start UTF-8 files with a byte order mark; json.loads refuses it.
    body = data.removeprefix(codecs.BOM_UTF8)
    if not body.strip():
        raise _no_rows(path)
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError as err:
        start = err.start + len(data) - len(body)
        line = data[:start].count(b"\n") + 1
        raise InputError(
            f"{path}, line {line}: not valid UTF-8 (byte {start})", hint="Re-encode the file as UTF-8."
        ) from None


# What the fast reader leaves to the careful one: any surrogate escape (a lone one must be refused by name, and
# polars reads it as another character); any key written with an escape (the type scan reads keys as written).
SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")
ESCAPED_KEY = re.compile(rb'\\u[0-9a-fA-F]{4}(?:[^"\\]|\\.)*"\s*:')
# Per polars type, how a JSON value of another type begins (after the key's colon; null fits every type). An
# integer among floats counts as another type: the careful reader makes such a column text. Lists and objects
# (message lists) are left to the careful reader, which infers their fields as polars' Series does.
OTHER_VALUE = {pl.String: rb'[^"\sn]', pl.Int64: rb"[^-0-9\sn]", pl.Float64: rb"(?:[^-0-9\sn]|-?[0-9]+(?![0-9.eE]))"}
OTHER_VALUE |= {pl.Boolean: rb"[^tf\sn]", pl.Null: rb"[^\sn]"}
KEY_ORDER_LINES = 1000  # lines read for the columns' order before the careful reader takes over


def _read_plain_jsonl(path: Path) -> _FileRows | None:
    """The JSONL file read by polars' own reader (several times faster than a json.loads per line, and
    without a Python object per value), or None where the careful reader must decide: anything polars refuses
    (bad UTF-8 or JSON, a line that is not an object, values of types it cannot merge), any value polars would
    turn into its column's type (a number or list among strings, true among numbers), a surrogate escape,
    integers past 64 bits, and lists or objects. The columns come in the careful reader's order (first seen)."""
    from concurrent.futures import ThreadPoolExecutor

    data = path.read_bytes().removeprefix(codecs.BOM_UTF8)
    with ThreadPoolExecutor(max_workers=1) as pool:  # polars parses without the GIL while Python scans
        parsed = pool.submit(_parse_jsonl, data)
        escaped = SURROGATE_ESCAPE.search(data) or ESCAPED_KEY.search(data)
        frame = parsed.result()
    if escaped or frame is None:
        return None
    kinds = {name: next((kind for kind in OTHER_VALUE if dtype == kind), None) for name, dtype in frame.schema.items()}
    if not frame.height or not frame.width or None in kinds.values() or _other_value(kinds).search(data):
        return None
    order = _key_order(data, frame.width)
    # One chunk per column, as the careful reader gives: polars 2.1 panics in some string expressions over the
    # hundreds of chunks its JSON reader makes (a validate rule, at 100k rows).
    return None if order is None else _FileRows(frame.select(order).rechunk(), {}, _line_place(path))


def _parse_jsonl(data: bytes) -> pl.DataFrame | None:
    try:
        return pl.read_ndjson(data, infer_schema_length=None)
    except (pl.exceptions.PolarsError, ValueError, OverflowError):
        return None


def _other_value(kinds: dict[str, type | None]) -> re.Pattern:
    """A key (anywhere in the file, nested ones too: a false alarm only costs the fast path) followed by a value
    of another type than polars gave its column."""
    parts = []
    for kind, other in OTHER_VALUE.items():
        names = {json.dumps(n, ensure_ascii=a).encode() for n, k in kinds.items() if k is kind for a in (True, False)}
        if names:
            parts.append(b"(?:" + b"|".join(map(re.escape, sorted(names))) + rb")\s*:\s*" + other)
    return re.compile(b"|".join(parts))


def _key_order(data: bytes, count: int) -> list[str] | None:
    """The first `count` keys in the order the lines give them, from the first lines (None past KEY_ORDER_LINES)."""
    seen: dict[str, None] = {}
    for line in data.split(NEWLINE, KEY_ORDER_LINES)[:KEY_ORDER_LINES]:
        if line.strip():
            seen.update(dict.fromkeys(json.loads(line)))
        if len(seen) == count:
            return list(seen)
    return None


def _read_jsonl(path: Path) -> list[dict]:
    rows = []
    for number, line in enumerate(_decode(path).split("\n"), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as err:
            raise InputError(f"{path}, line {number}: malformed JSON ({err.msg}, column {err.colno})") from None
        except RecursionError:
            raise _too_deep(f"{path}, line {number}") from None
        if not isinstance(row, dict):
            raise InputError(f"{path}, line {number}: expected a JSON object, found {type(row).__name__}")
        rows.append(row)
    return rows


def _read_json_array(path: Path) -> list[dict]:
    text = _decode(path)
    try:
        rows = json.loads(text)
    except json.JSONDecodeError as err:
        raise InputError(f"{path}, line {err.lineno}: malformed JSON ({err.msg}, column {err.colno})") from None
    except RecursionError:
        raise _too_deep(_deep_place(path, text.encode())) from None
    if not isinstance(rows, list):
        raise InputError(
            f"{path}: expected a JSON array of objects, found {type(rows).__name__}",
            hint="For one object per line, name the file .jsonl.",
        )
    for index, row in enumerate(rows):
        if not isinstance(row, dict):
            raise InputError(f"{path}, item {index}: expected a JSON object, found {type(row).__name__}")
    return rows


def _too_deep(place: str) -> InputError:
    return InputError(
        f"{place}: JSON nested too deeply to read; expected rows of text, numbers, lists and objects a few levels deep",
        hint="Fix or remove that value (it holds lists or objects nested hundreds of levels deep).",
    )


def _deep_place(path: Path, data: bytes) -> str:
    """The line of a JSON array where openers pile up, when they come in one run (found at C speed)."""
    deep = DEEP_NESTING.search(data)
    if deep is None:
        return str(path)
    return f"{path}, line {data.count(NEWLINE, 0, deep.start()) + 1}"


def _rows_to_frame(rows: list[dict], place: Place, path: Path) -> _FileRows:
    if not rows:
        raise _no_rows(path)
    names = list(dict.fromkeys(key for row in rows for key in row))
    _refuse_surrogate_names(names, rows, place)
    columns, numbers = [], {}
    for name in names:
        column, number_rows = _column(name, [row.get(name) for row in rows], place)
        columns.append(column)
        if number_rows:
            numbers[name] = number_rows
    return _FileRows(pl.DataFrame(columns), numbers, place)


def _column(name: str, values: list, place: Place) -> tuple[pl.Series, list[int]]:
    """The column, and the rows that held numbers when it mixes them with text."""
    try:
        return pl.Series(name, values), []
    except UnicodeEncodeError:
        raise _lone_surrogate(name, values, place) from None
    except (pl.exceptions.PolarsError, TypeError, ValueError, OverflowError) as err:
        failure = err
    if not all(_is_scalar(v) for v in values):
        raise _odd_shape(name, values, place, failure)
    # Mixed scalars (a rating written as 7.5 in one row and "high" in another) become text, so the
    # validation step can name the bad rows; the rows that held numbers are kept for text columns to refuse.
    numbers = [index for index, value in enumerate(values) if value is not None and not isinstance(value, str)]
    text = [v if v is None or isinstance(v, str) else repr(v) for v in values]
    try:
        return pl.Series(name, text, pl.String), numbers
    except UnicodeEncodeError:
        raise _lone_surrogate(name, values, place) from None


def _is_scalar(value: Any) -> bool:
    return isinstance(value, (str, int, float, type(None))) and not isinstance(value, bool)


def _refuse_surrogate_names(names: list[str], rows: list[dict], place: Place) -> None:
    for name in names:
        if bad := _surrogate_in(name):
            index = next(i for i, row in enumerate(rows) if name in row)
            raise _surrogate_error(f"{place(index)}: the key {ascii(name)}", bad)


def _lone_surrogate(name: str, values: list, place: Place) -> InputError:
    """polars cannot encode a lone surrogate escape (\\ud800 without its pair); find the row that holds one."""
    index, bad = next((i, found) for i, value in enumerate(values) if (found := _surrogate_in(value)))
    return _surrogate_error(f"{place(index)}: column '{name}'", bad)


def _surrogate_error(where: str, bad: str) -> InputError:
    return InputError(
        f"{where} holds the lone surrogate escape \\u{ord(bad):04x}, which cannot be encoded as UTF-8; "
        "expected valid Unicode text",
        hint="Fix the value: a surrogate escape must come as a high and low pair (e.g. \\ud83d\\ude00).",
    )


def _surrogate_in(value: Any) -> str | None:
    """The first lone surrogate in a value (keys included), or None."""
    try:
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError as err:
        return err.object[err.start]
    return None


def _odd_shape(name: str, values: list, place: Place, failure: Exception) -> InputError:
    """polars found values of different types in the column; name the first row unlike the rest."""
    shapes = [_shape(v) for v in values]
    counts = Counter(s for s in shapes if s is not None)
    usual = counts.most_common(1)[0][0] if counts else None
    odd = next((i for i, s in enumerate(shapes) if not _fits(s, usual)), None)
    if odd is None:
        return InputError(f"{place(0)}: column '{name}' holds values of different types ({first_line(failure)})")
    if shapes[odd] == usual:  # most rows hold lists or objects that mix types inside
        return InputError(f"{place(odd)}: column '{name}' holds {_short(values[odd])}, whose items differ in type")
    return InputError(
        f"{place(odd)}: column '{name}' holds {_describe(shapes[odd])} {_short(values[odd])}; "
        f"expected {_describe(usual)} like the other rows"
    )


def _shape(value: Any) -> Any:
    """A value's type in JSON terms, nested: what polars needs the rows of a column to agree on."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        inner = None
        for item in value:
            inner = _merge(inner, _shape(item))
        return ("list", inner)
    if isinstance(value, dict):
        return ("object", tuple(sorted((str(k), _shape(v)) for k, v in value.items())))
    return type(value).__name__


def _merge(a: Any, b: Any) -> Any:
    if a is None or b is None:
        return b if a is None else a
    if not _fits(a, b):
        return "mixed"
    if a[0] == "object":
        fields = dict(a[1])
        for key, shape in b[1]:
            fields[key] = _merge(fields.get(key), shape)
        return ("object", tuple(sorted(fields.items())))
    if a[0] == "list":
        return ("list", _merge(a[1], b[1]))
    return a


def _fits(a: Any, b: Any) -> bool:
    """Whether values of shapes a and b can share a column (null fits all; objects may differ in keys)."""
    if a is None or b is None:
        return True
    if isinstance(a, tuple) and isinstance(b, tuple) and a[0] == b[0]:
        if a[0] == "list":
            return _fits(a[1], b[1])
        fields = dict(b[1])
        return all(_fits(shape, fields.get(key)) for key, shape in a[1])
    return a == b and a != "mixed"


def _describe(shape: Any, plural: bool = False) -> str:
    if shape is None:
        return "nulls" if plural else "null"
    if isinstance(shape, str):
        return {"mixed": "mixed values"}.get(shape, shape + ("s" if plural else ""))
    if shape[0] == "list":
        if shape[1] is None:
            return "empty lists" if plural else "an empty list"
        what = "messages" if _is_message(shape[1]) else _describe(shape[1], plural=True)
        return ("lists of " if plural else "a list of ") + what
    fields = ", ".join(f"{key}: {_describe(inner)}" for key, inner in shape[1])
    return ("objects" if plural else "an object") + f" {{{fields}}}"


def _is_message(shape: Any) -> bool:
    fields = dict(shape[1]) if isinstance(shape, tuple) and shape[0] == "object" else {}
    return {"role", "content"} <= set(fields) and all(fields[k] in ("string", None) for k in ("role", "content"))


def _short(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= SHOWN_CHARS else text[: SHOWN_CHARS - 3] + "..."
