"""Bad values inside well-formed columns: non-finite ratings, texts that show nothing, response lists that
repeat (or contradict) the prompt. Each ends in the dropped rows with a named reason, or is a clear error."""

from __future__ import annotations

import json
import random

import polars as pl
import pytest
from conftest import distinct_pairs, pair, write_jsonl
from test_rules import reasons_of, run

from curate.builder import build
from curate.config import load_recipe
from curate.errors import InputError
from curate.normalize import _VISIBLE, blank_texts
from curate.sources.columns import detect_columns, to_canonical

# ---- ratings that are not finite numbers ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("bad", "detail"),
    [
        (pair(chosen_rating=float("inf")), "chosen_rating is inf"),
        (pair(rejected_rating=float("-inf")), "rejected_rating is -inf"),
        (pair(chosen_rating=float("-inf")), "chosen_rating is -inf"),
        (pair(rejected_rating=float("inf")), "rejected_rating is inf"),
        (pair(chosen_rating="Infinity"), "chosen_rating='Infinity' is not finite"),
        (pair(chosen_rating=" inf "), "chosen_rating=' inf ' is not finite"),
        (pair(rejected_rating="-Infinity"), "rejected_rating='-Infinity' is not finite"),
        (pair(chosen_rating="1e999"), "chosen_rating='1e999' is not finite"),
        (pair(rejected_rating=float("nan")), "rejected_rating is NaN"),
        (pair(chosen_rating="high"), "chosen_rating='high' is not a number"),
    ],
)
def test_non_finite_rating_is_non_numeric(bad, detail):
    result = run([*distinct_pairs(3), bad])
    assert result.dropped.select("row", "reason", "detail").rows() == [(3, "non_numeric_rating", detail)]


def test_rating_gap_that_overflows_is_non_numeric():
    result = run([*distinct_pairs(2), pair(chosen_rating=1.7e308, rejected_rating=-1.7e308)])
    assert result.dropped.select("row", "reason").rows() == [(2, "non_numeric_rating")]
    assert result.dropped["detail"][0].startswith("rating gap overflows: chosen 1.7e")


def test_huge_finite_gap_is_kept():
    assert reasons_of([pair(chosen_rating=1.7e308, rejected_rating=0.0)]) == {}


def test_json_infinity_literals_are_dropped_in_a_build(tmp_path):
    # Python's json writes and reads `Infinity`, `-Infinity` and `NaN`; `1e999` parses to inf.
    lines = [json.dumps(row) for row in distinct_pairs(3)]
    lines.append(json.dumps(pair("What is 7 + 7?", chosen_rating=float("inf"))))
    lines.append(json.dumps(pair("What is 8 + 8?")).replace('"rejected_rating": 4.0', '"rejected_rating": -1e999'))
    source = tmp_path / "x.jsonl"
    source.write_text("\n".join(lines) + "\n", encoding="utf-8")
    build(load_recipe(overrides={"source.path": str(source), "decontaminate.benchmarks": []}), tmp_path / "out")
    dropped = pl.read_parquet(tmp_path / "out" / "dropped" / "*.parquet")
    assert dropped.select("reason", "detail").rows() == [
        ("non_numeric_rating", "chosen_rating is inf"),
        ("non_numeric_rating", "rejected_rating is -inf"),
    ]


# ---- texts that show nothing ---------------------------------------------------------------------------

INVISIBLE_TEXTS = [
    "\x00",
    "\x00\x00 \x00",
    "\u200b",  # zero width space
    "\u200c\u200d",  # zero width non-joiner, joiner
    "\u2060",  # word joiner
    "\ufeff",  # byte order mark
    "\u00ad",  # soft hyphen
    "\u3164",  # Hangul filler
    "\u115f\u1160",  # Hangul choseong / jungseong fillers
    "\uffa0",  # halfwidth Hangul filler
    "\u2800",  # Braille pattern blank
    "\ufe0f\u034f",  # variation selector, combining grapheme joiner
    " \u200b\n\t\u3000\u200b ",
    "\x1b\x7f\u0085",
]


@pytest.mark.parametrize("text", INVISIBLE_TEXTS)
@pytest.mark.parametrize(
    ("field", "reason"), [("instruction", "empty_prompt"), ("chosen", "empty_chosen"), ("rejected", "empty_rejected")]
)
def test_invisible_text_is_empty(text, field, reason):
    assert reasons_of([*distinct_pairs(3), pair(**{field: text})]) == {3: reason}


@pytest.mark.parametrize("text", ["\u200bx", "\x005", "π", " \u3164 = 5", "\u2800\u28ff"])
def test_text_with_a_visible_character_is_kept(text):
    assert reasons_of([*distinct_pairs(2), pair(chosen=text)]) == {}


def test_blank_texts_fast_path_agrees_with_the_regex():
    # The first-byte shortcut must never change an answer: compare with the regex over every row, on texts
    # that start with every kind of character, long and short (Arrow inlines texts of up to 12 bytes), nulls,
    # and a slice (a non-zero offset into the views).
    pieces = ["", " ", "a", "5", "~", "\x00", "\x7f", "\u200b", "π", "\u3164", "数", "\U0001f600", "\n", "x" * 13]
    rng = random.Random(7)
    texts = ["".join(rng.choices(pieces, k=rng.randint(0, 6))) for _ in range(3000)]
    texts += [None, "", " " * 40, "\u200b" * 20 + "!", "!" + "\u200b" * 20]
    series = pl.Series("t", texts, pl.String)
    for part in (series, series.slice(17, 2000)):
        expected = part.is_null() | ~part.str.contains(_VISIBLE).fill_null(False)
        assert blank_texts(part).to_list() == expected.to_list()


def test_conversational_blank_response_is_empty():
    frame = conversational(
        [{"role": "user", "content": "Q?"}], [{"role": "assistant", "content": "\u200b\u200b"}], "no"
    )
    result = run_canonical(frame)
    assert result.dropped.select("row", "reason").rows() == [(0, "empty_chosen")]


# ---- response lists that repeat the prompt -------------------------------------------------------------


def conversational(prompt, chosen, rejected, **extra) -> pl.DataFrame:
    def messages(turns):
        return [{"role": "assistant", "content": turns}] if isinstance(turns, str) else turns

    row = {"prompt": prompt, "chosen": messages(chosen), "rejected": messages(rejected), **extra}
    return pl.DataFrame([row])


def canonical(frame: pl.DataFrame) -> pl.DataFrame:
    return to_canonical(frame, detect_columns(frame.columns), "src.jsonl")


def run_canonical(frame: pl.DataFrame):
    from curate.config import Recipe
    from curate.pipeline import run_pipeline

    return run_pipeline(canonical(frame), Recipe(), has_ratings=False)


USER = {"role": "user", "content": "What is 2 + 3?"}
SYSTEM = {"role": "system", "content": "Be brief."}


def reply(text: str) -> dict:
    return {"role": "assistant", "content": text}


@pytest.mark.parametrize("prompt", [[USER], "What is 2 + 3?", [{"role": "user", "content": " What is 2 + 3?\n"}]])
def test_response_repeating_the_prompt_gives_the_reply(prompt):
    frame = conversational(prompt, [USER, reply("5")], [USER, reply("6")])
    assert canonical(frame).select("prompt", "chosen", "rejected").rows()[0][1:] == ("5", "6")


def test_response_repeating_system_and_prompt_gives_the_reply():
    frame = conversational([SYSTEM, USER], [SYSTEM, USER, reply("5")], [reply("6")])
    assert canonical(frame).select("system", "chosen", "rejected").rows() == [("Be brief.", "5", "6")]


@pytest.mark.parametrize(
    ("prompt", "chosen", "what"),
    [
        (
            [USER],
            [{"role": "user", "content": "What is 9 + 9?"}, reply("18")],
            "user turn differs from the prompt of the row",
        ),
        (
            "What is 2 + 3?",
            [{"role": "user", "content": "Hi"}, reply("5")],
            "user turn differs from the prompt of the row",
        ),
        ([USER], [SYSTEM, USER, reply("5")], "system turn differs from the system prompt of the row"),
        (
            [{"role": "system", "content": "Be long."}, USER],
            [SYSTEM, USER, reply("5")],
            "system turn differs from the system prompt of the row",
        ),
        ([USER], [reply("4"), reply("5")], "expected one assistant reply"),
        ([USER], [USER, reply("4"), USER, reply("5")], "expected one assistant reply"),
        ([USER], [{"role": "tool", "content": "5"}, reply("5")], "expected one assistant reply"),
        ([USER], [reply("5"), USER], "must end with an assistant message"),
    ],
)
def test_response_list_that_would_lose_a_turn_is_an_error(prompt, chosen, what):
    frame = pl.concat([conversational(prompt, [reply("5")], "6"), conversational(prompt, chosen, "6")])
    with pytest.raises(InputError) as caught:
        canonical(frame)
    message = caught.value.message
    assert message.startswith("src.jsonl, row 1: column 'chosen' (chosen) has turns [")
    assert what in message
    assert "prompt" in caught.value.hint


def test_response_list_error_in_a_build_names_row_column_and_roles(tmp_path):
    from typer.testing import CliRunner

    from curate.cli import app

    rows = [
        {"prompt": "Q?", "chosen": [reply("yes")], "rejected": [reply("no")]},
        {"prompt": "Q2?", "chosen": [reply("yes")], "rejected": [{"role": "user", "content": "Q?"}, reply("no")]},
    ]
    source = write_jsonl(tmp_path / "x.jsonl", rows)
    result = CliRunner().invoke(app, ["build", "--source", str(source), "--out", str(tmp_path / "out")])
    assert result.exit_code == InputError.exit_code, result.output
    assert "Traceback" not in result.output
    assert "row 1: column 'rejected'" in result.stderr and "['user', 'assistant']" in result.stderr
