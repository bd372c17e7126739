"""The pure path (curate/pure.py) and the C loops build the same folders, byte for byte; the pure path runs
when the extensions cannot be imported or CURATE_PURE is set."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import polars as pl
import pytest
from conftest import BENCHMARK_SAMPLE, REPO, SAMPLE

from curate import native, pure
from curate.normalize import whitespace
from curate.words import LATEX_SAME, LATEX_SPACING, match_words

COMPILED = native._extensions() is not None


def build(out, pure_path: bool, *extra: str) -> dict[str, bytes]:
    """Every file of a console-script build of the shipped sample, by path."""
    env = {**os.environ, "CURATE_PURE": "1" if pure_path else "0", "HF_HUB_OFFLINE": "1"}
    command = [sys.executable, "-m", "curate", "build", "--source", str(SAMPLE)]
    command += ["--decontaminate", str(BENCHMARK_SAMPLE), "--out", str(out), *extra]
    done = subprocess.run(command, env=env, cwd=REPO, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return {str(path.relative_to(out)): path.read_bytes() for path in sorted(out.rglob("*")) if path.is_file()}


@pytest.mark.skipif(not COMPILED, reason="C loops not built: only the pure path exists here")
@pytest.mark.parametrize("extra", [(), ("--format", "conversational", "--max-chosen-longer-share", "0.5")])
def test_sample_builds_byte_identical_on_both_paths(tmp_path, extra):
    accelerated = build(tmp_path / "accelerated", False, *extra)
    assert build(tmp_path / "pure", True, *extra) == accelerated
    assert "report.json" in accelerated and any(name.startswith("data/") for name in accelerated)


def test_curate_pure_forces_the_pure_path(monkeypatch):
    monkeypatch.setenv("CURATE_PURE", "1")
    assert not native.accelerated()
    monkeypatch.setenv("CURATE_PURE", "0")
    assert native.accelerated() == COMPILED


def test_without_the_extensions_the_pure_path_runs(monkeypatch):
    monkeypatch.delenv("CURATE_PURE", raising=False)
    monkeypatch.setattr(native, "_extensions", lambda: None)
    assert not native.accelerated()
    index, keys, _ = native.windows(pl.Series(["one two three four"]), 3, 1)
    assert index.tolist() == [0, 0] and len(set(keys.tolist())) == 2


@pytest.mark.parametrize("name", sorted(LATEX_SPACING))
def test_every_latex_spacing_command_is_no_word_on_both_paths(name):
    text = f"a \\{name} b \\{name.upper()}{{ {name}"
    assert match_words(text) == ["a", "b", name]
    assert _keys_on_both_paths(text) == _keys(["a", "b", name])


@pytest.mark.parametrize(("name", "same"), sorted(LATEX_SAME.items()))
def test_every_latex_alias_counts_as_its_command_on_both_paths(name, same):
    text = f"\\{name}{{12}} {name}"
    assert match_words(text) == [same, "12", name]
    assert _keys_on_both_paths(text) == _keys([same, "12", name])


def _keys(words: list[str]) -> list[int]:
    """The keys of the words, one window each."""
    return [int(k) for k in native.windows(pl.Series([" ".join(words)]), 1, 1)[1]] if words else []


def _keys_on_both_paths(text: str) -> list[int]:
    paths = ["1", "0"] if COMPILED else ["1"]
    found = []
    for flag in paths:
        os.environ["CURATE_PURE"] = flag
        try:
            found.append([int(k) for k in native.windows(pl.Series([text]), 1, 1)[1]])
        finally:
            del os.environ["CURATE_PURE"]
    assert all(keys == found[0] for keys in found)
    return found[0]


def test_word_hash_of_long_and_mixed_case_words():
    data = np.frombuffer(b"AbcdefghIJKLMNOPqrstuvwxyz0123456789" + bytes(8), np.uint8)
    length = np.array([36], np.int64)
    assert pure.word_hashes(data, np.zeros(1, np.int64), length)[0] == pure.word_hash(
        "abcdefghijklmnopqrstuvwxyz0123456789"
    )


@pytest.mark.parametrize("char", list(whitespace()))
def test_every_whitespace_character_collapses_on_both_paths(char):
    from curate.normalize import _stable_bitmap

    texts = pl.Series([f"{char}a{char}{char}b c{char}", f"a{char}b"], dtype=pl.String)
    for flag in ["1", "0"] if COMPILED else ["1"]:
        os.environ["CURATE_PURE"] = flag
        try:
            collapsed, unstable, hashes = native.collapse_spaces(texts, _stable_bitmap())
            space_hashes, _ = native.space_hashes(texts, _stable_bitmap())
        finally:
            del os.environ["CURATE_PURE"]
        assert collapsed.to_list() == ["a b c", "a b"] and not unstable.any()
        assert space_hashes.tolist() == hashes.tolist()


def test_the_whitespace_set_is_unicode_white_space():
    from test_words import WHITE_SPACE

    assert whitespace() == WHITE_SPACE


@pytest.mark.skipif(not COMPILED, reason="C loops not built")
def test_the_c_loops_take_their_tables_from_python(monkeypatch):
    text_loops = native._extensions()[0]
    monkeypatch.setenv("CURATE_PURE", "0")
    try:
        text_loops.configure(["frac"], [("quad", "binom")], " ")  # another rule entirely
        keys = native.windows(pl.Series(["\\frac x\t\\quad"]), 1, 1)[1].tolist()
        collapsed = native.collapse_spaces(pl.Series(["a\tb"]), b"\0" * 0x600)[0].to_list()
    finally:
        native._extensions.cache_clear()  # configured again from curate/words.py and normalize.py
    assert keys == _keys(["x", "binom"])
    assert collapsed == ["a\tb"]  # a tab is no longer whitespace
    assert native.windows(pl.Series(["\\frac x"]), 1, 1)[1].tolist() == _keys(["frac", "x"])
