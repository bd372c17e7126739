from __future__ import annotations

import polars as pl
import pytest

from curate.normalize import normalize_series, normalize_text, with_keys


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("  What is\n\n2 +\t2? ", "What is 2 + 2?"),
        ("caf\u0065\u0301", "caf\u00e9"),  # decomposed accent, NFC
        ("5 \u2126", "5 \u03a9"),  # OHM SIGN is canonically the Greek Omega
        ("x² + ﬁ", "x² + ﬁ"),  # compatibility forms are kept: x² is not x2
        ("x\u00a0=\u20031", "x = 1"),  # no-break and em spaces
        ("Case Kept", "Case Kept"),
        ("", ""),
    ],
)
def test_normalize_text(text, expected):
    assert normalize_text(text) == expected


def test_keys_leave_the_texts_untouched():
    frame = pl.DataFrame(
        {"system": [None, None], "prompt": ["\u2126  x", "plain"], "chosen": ["a", "b"], "rejected": ["c", "d"]},
        schema_overrides={"system": pl.String},
    )
    keyed = with_keys(frame)
    assert keyed["prompt_key"].to_list() == ["\u03a9 x", "plain"]
    assert keyed["prompt"].to_list() == ["\u2126  x", "plain"] == frame["prompt"].to_list()
    assert keyed["system_key"].to_list() == [None, None]


def test_characters_treated_as_nfc_stable_really_are():
    """Exhaustive: no character the fast path skips changes under NFC or merges into its neighbour."""
    import unicodedata

    from curate.normalize import _unstable_characters

    chars = pl.Series([chr(c) for c in range(0x3000) if not 0xD800 <= c < 0xE000], dtype=pl.String)
    skipped = [ord(c) for c in chars.filter(~chars.str.contains(_unstable_characters()))]
    seconds = set()
    for code in range(0x110000):
        parts = unicodedata.decomposition(chr(code)).split()
        if len(parts) == 2 and not parts[0].startswith("<"):
            seconds.add(int(parts[1], 16))
    for code in skipped:
        char = chr(code)
        assert unicodedata.is_normalized("NFC", char) and unicodedata.combining(char) == 0, hex(code)
        assert code not in seconds, hex(code)
    assert len(skipped) > 5000  # the fast path covers Latin, Greek, math symbols, arrows, ...


def test_fast_path_agrees_with_python_nfc():
    import unicodedata

    texts = ["x² ≤ π × 3", "e\u0301", "\u212b", "a\u0308b", "ﬁ", "\u1100\u1161", "5 \u2126", None, "plain"]
    got = normalize_series(pl.Series(texts, dtype=pl.String)).to_list()
    assert got == [None if t is None else " ".join(unicodedata.normalize("NFC", t).split()) for t in texts]
