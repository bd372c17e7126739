"""The C loops (curate/_text.c, curate/_minhash.c) against plain-Python statements of the same rules."""

from __future__ import annotations

from itertools import combinations

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from curate import _minhash, native
from curate.normalize import _collapse_whitespace, _stable_bitmap, _unstable_characters, normalize_series
from curate.words import match_words

MASK = (1 << 64) - 1
LENGTH_MIX, WINDOW_PRIME = 0xD6E8FEB86659FD93, 0x9E3779B97F4A7C15


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


@settings(max_examples=150, deadline=None)
@given(TEXTS, st.sampled_from([1, 3, 8]), st.sampled_from([1, 3]))
def test_windows_are_the_python_rule(texts, size, min_words):
    index, keys, _ = native.windows(pl.Series(texts, dtype=pl.String), size, min_words)
    for i, text in enumerate(texts):
        mine = keys[index == i].tolist()
        assert len(mine) == len(set(mine))  # distinct within a text
        assert set(mine) == reference_windows(text, size, min_words)


def test_held_keys_are_counted_not_returned():
    texts = pl.Series(["a b c d", "a b c", "x a b c", "nothing here"])
    common = window_key(["a", "b", "c"])
    index, keys, counts = native.windows(texts, 3, 1, held=np.array([common, 7], np.uint64))
    assert common not in keys.tolist() and counts.tolist() == [3, 0]
    assert set(index.tolist()) == {0, 2, 3}


@settings(max_examples=100, deadline=None)
@given(TEXTS, st.sampled_from([[3], [3, 8], [2, 5, 8]]))
def test_find_reports_the_runs_among_the_keys(texts, lengths):
    wanted = sorted(set().union(*(reference_windows(t, n, n) for t in texts[:2] for n in lengths)))
    index, keys = native.find(pl.Series(texts, dtype=pl.String), np.array(wanted, np.uint64), lengths)
    for i, text in enumerate(texts):
        runs = set().union(*(reference_windows(text, n, n) for n in lengths))
        assert set(keys[index == i].tolist()) == runs & set(wanted)


@settings(max_examples=150, deadline=None)
@given(TEXTS)
def test_collapse_and_hash_agree_with_polars_normalisation(texts):
    series = pl.Series(texts, dtype=pl.String)
    collapsed, unstable, collapsed_hashes = native.collapse_spaces(series, _stable_bitmap())
    # the same characters as the polars path flags, but for U+3000: whitespace, never changed by NFC
    expected_unstable = series.str.replace_all("\u3000", " ").str.contains(_unstable_characters()).to_list()
    assert unstable.tolist() == expected_unstable
    stable = ~unstable
    assert collapsed.filter(stable).to_list() == _collapse_whitespace(series.filter(stable)).to_list()
    normal = normalize_series(series)
    hashes, _ = native.space_hashes(normal, _stable_bitmap())
    assert collapsed_hashes.tolist() == [bytes_hash(text.encode()) for text in collapsed.fill_null("")]
    for a, b in combinations(range(len(texts)), 2):
        if normal[a] == normal[b]:
            assert hashes[a] == hashes[b]


def test_chunks_threads_slices_and_nulls_do_not_change_results(monkeypatch):
    texts = pl.Series([f"row {i} says the same {i % 3} thing" if i % 5 else None for i in range(50)])
    whole = native.windows(texts, 3, 1)
    monkeypatch.setattr(native, "CHUNK_ROWS", 7)
    chunked = native.windows(texts, 3, 1)
    assert all(np.array_equal(a, b) for a, b in zip(whole[:2], chunked[:2], strict=True))
    sliced_index, sliced_keys, _ = native.windows(texts.slice(10, 20), 3, 1)
    assert np.array_equal(sliced_keys, whole[1][(whole[0] >= 10) & (whole[0] < 30)])
    assert np.array_equal(sliced_index + 10, whole[0][(whole[0] >= 10) & (whole[0] < 30)])
    collapsed, *_ = native.collapse_spaces(texts, _stable_bitmap())
    assert collapsed.is_null().to_list() == texts.is_null().to_list()


def test_bad_buffers_are_refused():
    from curate import _text

    views, validity, data, offset = native.string_view(pl.Series(["a long string, longer than twelve bytes"]))
    with pytest.raises(ValueError, match="string_view"):
        _text.windows(views, validity, [], offset, 1, 3, 1, b"", 0)  # the view's data buffer is missing
    with pytest.raises(ValueError):
        _text.windows(views, validity, data, offset, 5, 3, 1, b"", 0)  # more strings than views


def test_minhash_signatures_are_the_arithmetic_stated():
    rng = np.random.default_rng(0)
    prompt = np.sort(rng.integers(0, 20, 300)).astype(np.int32)
    shingle = rng.integers(0, 2**63, 300, dtype=np.uint64)
    a = rng.integers(0, 2**32, 16, dtype=np.uint64).astype(np.uint32) | np.uint32(1)
    b = rng.integers(0, 2**32, 16, dtype=np.uint64).astype(np.uint32)
    out = np.full((20, 16), 0xFFFF, np.uint16)
    _minhash.signatures(prompt, shingle, a, b, out, 16)
    x = (shingle ^ (shingle >> np.uint64(32))).astype(np.uint32)
    for p in range(20):
        mine = x[prompt == p]
        expected = [
            min(((int(ak) * int(v) + int(bk)) & 0xFFFFFFFF) >> 16 for v in mine) for ak, bk in zip(a, b, strict=True)
        ]
        assert out[p].tolist() == (expected if len(mine) else [0xFFFF] * 16)


def test_band_pairs_agreement_and_jaccard_are_the_stated_rules():
    rng = np.random.default_rng(1)
    sig = rng.integers(0, 3, (40, 8)).astype(np.uint16)  # few values: many shared bands
    present = np.arange(0, 40, 2, dtype=np.int32)
    turn = np.zeros(len(present), np.uint64)
    codes = np.frombuffer(_minhash.band_pairs(sig, 8, present, turn, 0, 4, 2, 3), np.uint64)
    expected = set()
    for band in range(4):
        buckets: dict[tuple, list[int]] = {}
        for p in present.tolist():
            buckets.setdefault(tuple(sig[p, 2 * band : 2 * band + 2]), []).append(p)
        for members in buckets.values():
            linked = combinations(members, 2) if len(members) <= 3 else zip(members, members[1:], strict=False)
            expected |= {(x << 32) | y for x, y in linked}
    assert codes.tolist() == sorted(expected)  # hash collisions on 32-bit keys cannot occur with 20 prompts
    agree = np.frombuffer(_minhash.agreement(sig, 8, codes), np.uint8)
    pairs = [(int(c) >> 32, int(c) & 0xFFFFFFFF) for c in codes]
    assert agree.tolist() == [int((sig[x] == sig[y]).sum()) for x, y in pairs]
    sets = [set(rng.integers(0, 12, rng.integers(0, 8)).tolist()) for _ in range(40)]
    starts = np.cumsum([0, *(len(s) for s in sets)]).astype(np.int64)
    flat = np.array([v for s in sets for v in s], np.uint64)
    similar = np.frombuffer(_minhash.jaccard(starts, flat, codes, 0.5), np.bool_)
    union = [len(sets[x] | sets[y]) for x, y in pairs]
    assert similar.tolist() == [
        u > 0 and len(sets[x] & sets[y]) / u >= 0.5 for (x, y), u in zip(pairs, union, strict=True)
    ]


def test_arrow_buffers_in_and_strings_out_without_pyarrow():
    from curate import _text

    texts = pl.Series(["short", None, "a long string, longer than twelve bytes"] * 4).slice(2, 7)
    views, validity, data, offset, length = _text.string_view(texts.rechunk())
    assert (offset, length) == (2, 7) and len(bytes(views)) == 16 * 9 and validity is not None
    assert b"a long string" in bytes(data[0])
    with pytest.raises(ValueError, match="one chunk"):
        _text.string_view(pl.concat([texts, texts], rechunk=False))
    with pytest.raises(ValueError, match="string_view"):
        _text.string_view(pl.Series([1, 2]))
    strings, _, _ = _text.collapse_spaces(views, validity, data, offset, length, _stable_bitmap())
    long = "a long string, longer than twelve bytes"
    assert pl.Series(strings).to_list() == [long, "short", "", long, "short", "", long]  # a null comes out ""
    with pytest.raises(ValueError, match="exported already"):
        strings.__arrow_c_array__()


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
