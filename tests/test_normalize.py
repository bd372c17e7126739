from __future__ import annotations

import polars as pl
import pytest

from curate.normalize import normalize_text, with_keys


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
