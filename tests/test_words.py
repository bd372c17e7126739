"""The loops of curate/native.py, on both paths (the C extensions and curate/pure.py), against plain-Python
statements of the same rules."""

from __future__ import annotations

import os
from contextlib import contextmanager
from itertools import combinations

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from curate import native, pure
from curate.normalize import _collapse_whitespace, _stable_bitmap, _unstable_characters, normalize_series
from curate.words import match_words

MASK = (1 << 64) - 1
LENGTH_MIX, WINDOW_PRIME = 0xD6E8FEB86659FD93, 0x9E3779B97F4A7C15


COMPILED = native._extensions() is not None
PATHS = ["pure", pytest.param("accelerated", marks=pytest.mark.skipif(not COMPILED, reason="C loops not built"))]
needs_c = pytest.mark.skipif(not COMPILED, reason="C loops not built")


@contextmanager
def on(path: str):
    """Run native's loops on one path (a context, not a fixture: hypothesis reruns the test body)."""
    before = os.environ.get("CURATE_PURE")
    os.environ["CURATE_PURE"] = "1" if path == "pure" else "0"
    try:
        assert native.accelerated() == (path == "accelerated")
        yield
    finally:
        os.environ.pop("CURATE_PURE") if before is None else os.environ.__setitem__("CURATE_PURE", before)


def mix(x: int) -> int:
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & MASK
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & MASK
    return x ^ (x >> 31)


def word_hash(word: str) -> int:
    return chunk_hash(word.encode())


def chunk_hash(data: bytes) -> int:
    """curate/_text.c's word hash."""
    h = (len(data) * LENGTH_MIX) & MASK
    for start in range(0, len(data), 8):
        h = mix(h ^ int.from_bytes(data[start : start + 8], "little"))
    return h


def bytes_hash(data: bytes) -> int:
    """curate/_text.c's bytes_hash."""
    h = (len(data) * LENGTH_MIX) & MASK
    for start in range(0, len(data), 8):
        h = ((h ^ int.from_bytes(data[start : start + 8], "little")) * 0x9FB21C651E98DF25) & MASK
    return mix(h)


def window_key(run: list[str]) -> int:
    h = 0
    for word in run:
        h = (h * WINDOW_PRIME + word_hash(word)) & MASK
    return (h + len(run) * LENGTH_MIX) & MASK


def reference_windows(text: str, size: int, min_words: int) -> set[int]:
    found = match_words(text)
    if len(found) < min_words:
        return set()
    if len(found) < size:
        return {window_key(found)}
    return {window_key(found[i : i + size]) for i in range(len(found) - size + 1)}


# Texts that exercise the rules: ASCII words and digits, case, LaTeX commands, punctuation, non-ASCII
# letters and whitespace, long words (over 8 and 16 bytes), prose with single spaces (copied 16 bytes at a
# time) and runs across the 16- and 64-byte blocks.
PIECES = st.sampled_from(
    ["x", "Apple", "42", "3.14", "\\left(", "\\leftarrow", "\\dfrac", "\\Big", "\\quad1", "é", "²", "π", " ",
     "\u00a0", "\u3000", "\t\n", "  ", "$", "{", "}", "\\", "abcdefghijklmnopqrstuvwxyz0123", "Ω", "e\u0301",
     "Tom has 12 apples and ", " gives 3 away. "]
)  # fmt: skip
TEXTS = st.lists(st.lists(PIECES, max_size=40).map("".join) | st.text(max_size=60), min_size=1, max_size=12)


def test_match_words_rule():
    assert match_words("What is $\\dfrac {1}{2}$ of X²? \\left( a \\right) \\leftarrow café") == [
        "what", "is", "frac", "1", "2", "of", "x", "a", "leftarrow", "caf",
    ]  # fmt: skip


@pytest.mark.parametrize("path", PATHS)
@settings(max_examples=150, deadline=None)
@given(texts=TEXTS, size=st.sampled_from([1, 3, 8]), min_words=st.sampled_from([1, 3]))
def test_windows_are_the_python_rule(path, texts, size, min_words):
    with on(path):
        index, keys, _ = native.windows(pl.Series(texts, dtype=pl.String), size, min_words)
    for i, text in enumerate(texts):
        mine = keys[index == i].tolist()
        assert len(mine) == len(set(mine))  # distinct within a text
        assert set(mine) == reference_windows(text, size, min_words)


@pytest.mark.parametrize("path", PATHS)
def test_held_keys_are_counted_not_returned(path):
    texts = pl.Series(["a b c d", "a b c", "x a b c", "nothing here"])
    common = window_key(["a", "b", "c"])
    with on(path):
        index, keys, counts = native.windows(texts, 3, 1, held=np.array([common, 7], np.uint64))
        recorded = native.held_windows(texts, 3, 1, held=np.array([7, common, common], np.uint64), record_from=1)
    assert common not in keys.tolist() and counts.tolist() == [3, 0]
    assert set(index.tolist()) == {0, 2, 3}
    assert recorded[2].tolist() == [0, 3, 0] and recorded[3].tolist() == [0, 1, 2] and recorded[4].tolist() == [1] * 3


@pytest.mark.parametrize("path", PATHS)
@settings(max_examples=100, deadline=None)
@given(texts=TEXTS, lengths=st.sampled_from([[3], [3, 8], [2, 5, 8]]))
def test_find_reports_the_runs_among_the_keys(path, texts, lengths):
    wanted = sorted(set().union(*(reference_windows(t, n, n) for t in texts[:2] for n in lengths)))
    with on(path):
        index, keys = native.find(pl.Series(texts, dtype=pl.String), np.array(wanted, np.uint64), lengths)
    for i, text in enumerate(texts):
        runs = set().union(*(reference_windows(text, n, n) for n in lengths))
        assert set(keys[index == i].tolist()) == runs & set(wanted)


@pytest.mark.parametrize("path", PATHS)
@settings(max_examples=150, deadline=None)
@given(texts=TEXTS)
def test_collapse_and_hash_agree_with_polars_normalisation(path, texts):
    series = pl.Series(texts, dtype=pl.String)
    with on(path):
        collapsed, unstable, collapsed_hashes = native.collapse_spaces(series, _stable_bitmap())
        normal = normalize_series(series)
        hashes, _ = native.space_hashes(normal, _stable_bitmap())
    # the same characters as the polars path flags, but for U+3000: whitespace, never changed by NFC
    expected_unstable = series.str.replace_all("\u3000", " ").str.contains(_unstable_characters()).to_list()
    assert unstable.tolist() == expected_unstable
    stable = ~unstable
    assert collapsed.filter(stable).to_list() == _collapse_whitespace(series.filter(stable)).to_list()
    assert collapsed_hashes.tolist() == [bytes_hash(text.encode()) for text in collapsed.fill_null("")]
    for a, b in combinations(range(len(texts)), 2):
        if normal[a] == normal[b]:
            assert hashes[a] == hashes[b]


@pytest.mark.parametrize("path", PATHS)
def test_chunks_threads_slices_and_nulls_do_not_change_results(monkeypatch, path):
    texts = pl.Series([f"row {i} says the same {i % 3} thing" if i % 5 else None for i in range(50)])
    with on(path):
        whole = native.windows(texts, 3, 1)
        monkeypatch.setattr(native, "CHUNK_ROWS", 7)
        chunked = native.windows(texts, 3, 1)
        sliced_index, sliced_keys, _ = native.windows(texts.slice(10, 20), 3, 1)
        collapsed, *_ = native.collapse_spaces(texts, _stable_bitmap())
    assert all(np.array_equal(a, b) for a, b in zip(whole[:2], chunked[:2], strict=True))
    assert np.array_equal(sliced_keys, whole[1][(whole[0] >= 10) & (whole[0] < 30)])
    assert np.array_equal(sliced_index + 10, whole[0][(whole[0] >= 10) & (whole[0] < 30)])
    assert collapsed.is_null().to_list() == texts.is_null().to_list()


@needs_c
def test_bad_buffers_are_refused():
    from curate import _text

    views, validity, data, offset = native.string_view(pl.Series(["a long string, longer than twelve bytes"]))
    with pytest.raises(ValueError, match="string_view"):
        _text.windows(views, validity, [], offset, 1, 3, 1, b"", 0)  # the view's data buffer is missing
    with pytest.raises(ValueError):
        _text.windows(views, validity, data, offset, 5, 3, 1, b"", 0)  # more strings than views


def minhash_loops(path: str):
    """The MinHash loops of one path, with the pure path's signatures (out filled in place)."""
    if path == "pure":
        return pure.signatures, pure.band_pairs, pure.jaccard
    from curate import _minhash

    def band_pairs(sig, present, turn, bands, rows, cap):
        found = _minhash.band_pairs(sig, sig.shape[1], present, turn, bands.start, len(bands), rows, cap)
        return np.frombuffer(found, np.uint64)

    def jaccard(starts, flat, codes, threshold):
        return np.frombuffer(_minhash.jaccard(starts, flat, codes, threshold), np.bool_)

    return (lambda *args: _minhash.signatures(*args, args[-1].shape[1])), band_pairs, jaccard


@pytest.mark.parametrize("path", PATHS)
def test_minhash_signatures_are_the_arithmetic_stated(path):
    rng = np.random.default_rng(0)
    prompt = np.sort(rng.integers(0, 20, 300)).astype(np.int32)
    shingle = rng.integers(0, 2**63, 300, dtype=np.uint64)
    a = rng.integers(0, 2**32, 16, dtype=np.uint64).astype(np.uint32) | np.uint32(1)
    b = rng.integers(0, 2**32, 16, dtype=np.uint64).astype(np.uint32)
    out = np.full((20, 16), 0xFFFF, np.uint16)
    minhash_loops(path)[0](prompt, shingle, a, b, out)
    x = (shingle ^ (shingle >> np.uint64(32))).astype(np.uint32)
    for p in range(20):
        mine = x[prompt == p]
        expected = [
            min(((int(ak) * int(v) + int(bk)) & 0xFFFFFFFF) >> 16 for v in mine) for ak, bk in zip(a, b, strict=True)
        ]
        assert out[p].tolist() == (expected if len(mine) else [0xFFFF] * 16)


@pytest.mark.parametrize("path", PATHS)
def test_band_pairs_agreement_and_jaccard_are_the_stated_rules(path):
    from curate.minhash_lsh import _estimates

    _, band_pairs, jaccard = minhash_loops(path)
    rng = np.random.default_rng(1)
    sig = rng.integers(0, 3, (40, 8)).astype(np.uint16)  # few values: many shared bands
    present = np.arange(0, 40, 2, dtype=np.int32)
    turn = np.zeros(len(present), np.uint64)
    codes = band_pairs(sig, present, turn, range(0, 4), 2, 3)
    expected = set()
    for band in range(4):
        buckets: dict[tuple, list[int]] = {}
        for p in present.tolist():
            buckets.setdefault(tuple(sig[p, 2 * band : 2 * band + 2]), []).append(p)
        for members in buckets.values():
            linked = combinations(members, 2) if len(members) <= 3 else zip(members, members[1:], strict=False)
            expected |= {(x << 32) | y for x, y in linked}
    assert codes.tolist() == sorted(expected)  # hash collisions on 32-bit keys cannot occur with 20 prompts
    pairs = [(int(c) >> 32, int(c) & 0xFFFFFFFF) for c in codes]
    assert (_estimates(sig, codes) * 8).tolist() == [int((sig[x] == sig[y]).sum()) for x, y in pairs]
    sets = [set(rng.integers(0, 12, rng.integers(0, 8)).tolist()) for _ in range(40)]
    starts = np.cumsum([0, *(len(s) for s in sets)]).astype(np.int64)
    flat = np.array([v for s in sets for v in s], np.uint64)
    similar = jaccard(starts, flat, codes, 0.5)
    union = [len(sets[x] | sets[y]) for x, y in pairs]
    assert similar.tolist() == [
        u > 0 and len(sets[x] & sets[y]) / u >= 0.5 for (x, y), u in zip(pairs, union, strict=True)
    ]


@needs_c
def test_string_view_buffers_in_and_large_strings_out():
    from curate import _text

    texts = pl.Series(["short", None, "a long string, longer than twelve bytes"] * 4).slice(2, 7)
    views, validity, data, offset = native.string_view(texts)
    assert offset == 2 and len(bytes(views)) >= 16 * 9 and validity is not None
    assert any(b"a long string" in bytes(buffer) for buffer in data)
    strings, _, _ = _text.collapse_spaces(views, validity, data, offset, 7, _stable_bitmap())
    long = "a long string, longer than twelve bytes"
    assert native.strings_series("x", [strings]).to_list() == [long, "short", "", long, "short", "", long]


# Unicode White_Space: what polars' `strip_chars()` (Rust's `char::is_whitespace`) strips. Python's
# `str.strip()` strips more (\x1c-\x1f), so the rule is stated with this set.
WHITE_SPACE = "\t\n\x0b\x0c\r \x85\xa0\u1680" + "".join(map(chr, range(0x2000, 0x200B)))
WHITE_SPACE += "\u2028\u2029\u202f\u205f\u3000"
EDGES = st.text(
    alphabet=st.sampled_from([" ", "\n", "\x85", "\xa0", "\u1680", "\u2028", "\u3000", "\u2009", "\x1c", "é", "a"]),
    max_size=4,
)
RENDERED_TEXT = st.builds(lambda a, b, c: a + b + c, EDGES, st.text(max_size=30), EDGES)


def reference_chatml(system: str | None, prompt: str, chosen: str, rejected: str, default: str | None) -> tuple:
    """The format from render's templates (stated once); the stripping rule stated here, apart from the C."""
    from curate.render import ASSISTANT_HEADER, RESPONSE_END, SYSTEM_TURN, USER_TURN

    turn = (system or "").strip(WHITE_SPACE) or (default or "").strip()
    head = SYSTEM_TURN.format(system=turn) if turn else ""
    user = USER_TURN.format(prompt=prompt.strip(WHITE_SPACE)) + ASSISTANT_HEADER
    return head + user, chosen.strip(WHITE_SPACE) + RESPONSE_END, rejected.strip(WHITE_SPACE) + RESPONSE_END


@settings(max_examples=100, deadline=None)
@given(
    st.lists(st.tuples(st.none() | RENDERED_TEXT, RENDERED_TEXT, RENDERED_TEXT, RENDERED_TEXT), min_size=1, max_size=8),
    st.none() | st.sampled_from(["Be exact.", "  ", " Think step by step.\n"]),
    st.data(),
)
def test_chatml_render_is_the_stated_rule(rows, default, data):
    from curate.config import RenderConfig
    from curate.render import renderer

    kept = pl.DataFrame(
        {name: [row[k] for row in rows] for k, name in enumerate(["system", "prompt", "chosen", "rejected"])},
        schema={name: pl.String for name in ["system", "prompt", "chosen", "rejected"]},
    ).with_columns(row=pl.int_range(len(rows)), chosen_rating=pl.lit(8.0), rejected_rating=pl.lit(2.0))
    order = data.draw(st.lists(st.integers(0, len(rows) - 1), max_size=12))  # any order, repeats included
    out = renderer(kept, RenderConfig(format="chatml", system_prompt=default))(pl.Series(order, dtype=pl.UInt32))
    expected = [reference_chatml(*rows[i], default) for i in order]
    assert out.select("prompt", "chosen", "rejected").rows() == expected
    assert out["source_row"].to_list() == order
    texts = [text for row in rows for text in row if text is not None]
    assert pl.Series(texts, dtype=pl.String).str.strip_chars().to_list() == [t.strip(WHITE_SPACE) for t in texts]


def test_chatml_render_refuses_a_null_prompt_or_response():
    from curate.config import RenderConfig
    from curate.render import renderer

    for column in ["prompt", "chosen", "rejected"]:
        row = {"system": None, "prompt": "Q?", "chosen": "A.", "rejected": "B.", column: None}
        kept = pl.DataFrame([row], schema={name: pl.String for name in row}).with_columns(
            row=pl.lit(0), chosen_rating=pl.lit(8.0), rejected_rating=pl.lit(2.0)
        )
        with pytest.raises(ValueError, match="null"):
            renderer(kept, RenderConfig())(pl.Series([0]))
