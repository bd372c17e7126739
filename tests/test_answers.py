"""Final answers (curate/answers.py): extraction, agreement, correctness, the fast path and the timeout path."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from fractions import Fraction
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

pytest.importorskip("math_verify")

from curate import answers  # noqa: E402
from curate.answers import (  # noqa: E402
    _clean_value,
    _Comparer,
    _fast,
    _mv_input,
    agreement,
    answer_columns,
    correctness,
    final_answer,
    reference_answer,
)

REPO = Path(__file__).resolve().parent.parent
ROWS = [json.loads(line) for line in (REPO / "data" / "answers-sample.jsonl").read_text("utf-8").splitlines()]
BY_ID = {row["id"]: row for row in ROWS}
PAIRS = [(row["id"], other, want) for row in ROWS for other, want in row["agreement"].items()]


# --- extraction on the hand-written set -----------------------------------------------------------------------


@pytest.mark.parametrize("row", ROWS, ids=[row["id"] for row in ROWS])
def test_extraction(row):
    found = final_answer(row["response"])
    if row["answer"] is None:
        assert found is None
    else:
        assert found is not None
        assert found.answer == row["answer"]
        assert [p.text for p in found.parts] == row["values"]
        assert found.answer in found.span or found.how == "hashes"


def test_sample_covers_every_state():
    assert {want for _, _, want in PAIRS} == {"same", "different", "undetermined"}
    assert 40 <= len(ROWS) <= 60


def test_agreement_on_the_set_in_both_orders():
    chosen = [BY_ID[a]["response"] for a, _, _ in PAIRS]
    rejected = [BY_ID[b]["response"] for _, b, _ in PAIRS]
    want = [w for _, _, w in PAIRS]
    assert answer_columns(chosen, rejected)["answer_agreement"] == want
    assert answer_columns(rejected, chosen)["answer_agreement"] == want  # `same` holds both ways: symmetric


def test_naive_way_gives_the_same_agreement():
    chosen = [BY_ID[a]["response"] for a, _, _ in PAIRS]
    rejected = [BY_ID[b]["response"] for _, b, _ in PAIRS]
    assert answers.naive_columns(chosen, rejected) == answer_columns(chosen, rejected)["answer_agreement"]


def test_pleasantries_are_not_answers():
    assert final_answer("Let me know if you have 2 more questions.") is None
    found = final_answer("So the answer is 12.\n\nI hope this helps! Feel free to ask 3 more questions.")
    assert found.answer == "12"
    assert final_answer("Remember to check your work: 2 + 2 = 4 is a good habit.") is None


def test_conclusion_not_whole_text():
    text = "First 3 + 4 = 7. Then 7 × 6 = 42.\n\nTherefore, the answer is 42.\n\nRemember to double-check each step."
    assert final_answer(text).parts[0].text == "42"
    assert final_answer("Hence 6m = -180, so m = -30.").answer == "m = -30"


def test_agreement_is_never_a_bool():
    for a, b, _ in PAIRS[:5]:
        assert agreement(BY_ID[a]["response"], BY_ID[b]["response"]) in ("same", "different", "undetermined")
    assert agreement(None, "The answer is 3.") == "undetermined"
    assert agreement("", "The answer is 3.") == "undetermined"


# --- known math-verify false positives ------------------------------------------------------------------------


def test_plain_2x_is_read_as_latex_not_as_2():
    from math_verify import parse

    assert parse("2x", parsing_timeout=None)[0] == 2  # math-verify on plain text: the false positive
    assert _mv_input("2x") == "$2x$"  # what curate hands it instead
    assert final_answer("The answer is 2x.").values == ("2*x",)
    assert agreement("The answer is 2x.", "The answer is 2.") == "different"


def test_factorials_and_equations_are_never_same_unless_identical():
    from math_verify import parse, verify

    a, b = parse("$\\frac{1}{2004!}$", parsing_timeout=None), parse("$\\frac{1}{2006!}$", parsing_timeout=None)
    assert verify(a, b, timeout_seconds=None)  # math-verify #14
    assert agreement("The answer is $\\frac{1}{2004!}$.", "The answer is $\\frac{1}{2006!}$.") == "undetermined"
    assert agreement("The answer is $\\frac{1}{2004!}$.", "The answer is $\\frac{1}{2004!}$.") == "same"
    # equations (math-verify #60): a `same` verdict between two different equations is not trusted
    assert agreement("The answer is $x + y = 5$.", "The answer is $y + x = 5$.") == "undetermined"
    # a chain of arithmetic is not an equation: its value is its end
    assert final_answer("Thus 2 × 3 + 4 = 10.").parts[0].text == "10"


# --- the fast path gives math-verify's verdicts ----------------------------------------------------------------


def _mv_same(a: str, b: str) -> bool | None:
    return _Comparer(use_fast=False).same(a, b)


@st.composite
def plain_numbers(draw):
    """A value and two of its written forms, or two nearby values, in the forms the fast path takes."""
    kind = draw(st.sampled_from(["int", "decimal", "commas", "money", "percent", "fraction"]))
    if kind == "fraction":
        p, q = draw(st.integers(-500, 500)), draw(st.integers(1, 60))
        text = f"{p}/{q}"
    else:
        whole = draw(st.integers(-(10**7), 10**7))
        places = draw(st.integers(0, 7)) if kind in ("decimal", "money", "percent") else 0
        frac = draw(st.integers(0, 10**places - 1)) if places else 0
        sign = "-" if whole < 0 else ""
        body = f"{abs(whole):,}" if kind in ("commas", "money") else str(abs(whole))
        text = sign + body + (f".{frac:0{places}d}" if places else "")
        if kind == "money" and not sign:
            text = "$" + text
        if kind == "percent":
            text += "%"
    return text


def _alternative(draw, text: str) -> str:
    """Another form of (nearly) the same number: reformatted, rounded, or nudged."""
    num = _fast(_clean_value(text))
    value = num.value
    how = draw(st.sampled_from(["decimal", "fraction", "nudge", "round", "int", "pct", "toggle_pct", "zeros"]))
    plain = text.replace("$", "")
    if how == "toggle_pct" and "/" not in plain:  # 12.5% against 12.5
        return plain[:-1] if plain.endswith("%") else plain + "%"
    if how == "zeros" and "/" not in plain:  # 12.5 against 12.500
        return plain.replace("%", "") + ("" if "." in plain else ".") + "00" + ("%" if plain.endswith("%") else "")
    if how == "fraction":
        return f"{value.numerator}/{value.denominator}"
    if how == "int":
        return str(round(value))
    if how == "pct":
        return f"{float(value * 100):.{draw(st.integers(0, 4))}f}%"
    if how == "nudge":
        value += Fraction(draw(st.integers(-3, 3)), 10 ** draw(st.integers(0, 8)))
    digits = draw(st.integers(0, 8)) if how == "round" else 8
    return f"{float(value):.{digits}f}"


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_fast_path_matches_math_verify(data):
    a = data.draw(plain_numbers())
    b = data.draw(st.one_of(plain_numbers(), st.builds(lambda: None)))
    if b is None:
        b = _alternative(data.draw, a)
    ca, cb = _clean_value(a), _clean_value(b)
    assert _fast(ca) is not None and _fast(cb) is not None, (a, b)
    fast = _Comparer(use_fast=True)
    for gold, target in ((ca, cb), (cb, ca)):
        assert fast.equal(gold, target) == _Comparer(use_fast=False).equal(gold, target), (gold, target)
    # and what math-verify says on the raw text as written ("$1,234.50", "12.5%")
    if not a.startswith("-$") and not b.startswith("-$"):
        from math_verify import parse, verify

        raw = verify(parse(a, parsing_timeout=None), parse(b, parsing_timeout=None), timeout_seconds=None)
        assert fast.equal(ca, cb) == raw, (a, b)


@pytest.mark.parametrize(
    ("a", "b", "same"),
    [
        ("50%", "50", True),  # math-verify: both integers, the percent is ignored
        ("50%", "0.5", True),
        ("12.5%", "12.5", True),  # its extracted strings match: "12.5"
        ("12.50%", "12.5", False),
        ("12.5%", "12.50%", True),
        ("1/3", "0.333333", True),  # rounded to 6 decimals
        ("1/3", "0.33333", False),
        ("1,234", "1234", True),
        ("4/2", "2", True),
        ("0.1", "1/10", True),
    ],
)
def test_fast_path_known_cases(a, b, same):
    assert _Comparer(use_fast=True).same(a, b) is same
    assert _mv_same(a, b) is same


# --- correctness and references -----------------------------------------------------------------------------


def test_reference_gsm8k_form():
    ref = reference_answer("Natalia sold 48/2 = 24 clips in May.\n#### 72")
    assert ref.answer == "72" and ref.how == "hashes"
    assert reference_answer("#### 1,234").parts[0].text == "1,234"
    assert reference_answer("\\frac{1}{2}").parts[0].text == "\\frac{1}{2}"  # a bare MATH-style answer
    assert reference_answer("42").parts[0].text == "42"
    assert reference_answer(None) is None and reference_answer("  ") is None


def test_correctness():
    assert correctness("So the final answer is 72.", "#### 72") == "correct"
    assert correctness("So the final answer is 70.", "#### 72") == "incorrect"
    assert correctness("The answer is $0.5$.", "\\frac{1}{2}") == "correct"
    assert correctness("Thanks for asking!", "#### 72") == "undetermined"
    assert correctness("So the final answer is 72.", None) == "undetermined"
    assert correctness("The answer is 1,234 dollars.", "#### 1,234") == "correct"


def test_answer_columns_with_reference():
    chosen = ["The answer is 72.", "The answer is 5.", "It depends.", "The answer is $\\frac{1}{2}$."]
    rejected = ["The answer is 70.", "The answer is 5.", "The answer is 3.", "The answer is 0.25."]
    ref = ["#### 72", "#### 6", "#### 3", None]
    out = answer_columns(chosen, rejected, ref)
    assert out["chosen_answer"] == ["72", "5", None, "$\\frac{1}{2}$"]
    assert out["answer_agreement"] == ["different", "same", "undetermined", "different"]
    assert out["chosen_correct"] == ["correct", "incorrect", "undetermined", "undetermined"]
    assert out["rejected_correct"] == ["incorrect", "incorrect", "correct", "undetermined"]
    assert set(answer_columns(chosen, rejected)) == {"chosen_answer", "rejected_answer", "answer_agreement"}
    with pytest.raises(ValueError):
        answer_columns(["a"], [])


def test_answer_columns_is_deterministic_and_ordered():
    chosen = [row["response"] for row in ROWS]
    rejected = [row["response"] for row in reversed(ROWS)]
    first = answer_columns(chosen, rejected, workers=2)
    assert answer_columns(chosen, rejected, workers=1) == first
    stats: dict = {}
    assert answer_columns(chosen[:7], rejected[:7], stats=stats)["answer_agreement"] == first["answer_agreement"][:7]
    assert stats["pairs"] == 7 and stats["timeouts"] == [] and stats["fast"] + stats["math_verify"] <= 7


def test_extraction_in_the_workers_gives_the_same_columns(monkeypatch):
    chosen = [row["response"] for row in ROWS] * 3
    rejected = [row["response"] for row in reversed(ROWS)] * 3
    serial = answer_columns(chosen, rejected, workers=2)
    monkeypatch.setattr(answers, "PARALLEL_EXTRACT", 8)
    monkeypatch.setattr(answers, "_EXTRACT_BATCH", 5)
    assert answer_columns(chosen, rejected, workers=2) == serial


def test_plain_numbers_never_start_a_worker():
    answers.shutdown()
    out = answer_columns(["The answer is 3."] * 3, ["The answer is 4.", "The answer is 3.", "Hi!"])
    assert out["answer_agreement"] == ["different", "same", "undetermined"]
    assert answers._POOL is None


# --- the timeout path ------------------------------------------------------------------------------------------


def test_pathological_latex_hits_the_budget_and_the_build_goes_on():
    deep = "The answer is $" + "(" * 20000 + "1" + ")" * 20000 + "$."
    stats: dict = {}
    out = answer_columns(
        [deep, "The answer is $\\sqrt{8}$.", "The answer is 3."],
        ["The answer is $x$.", "The answer is $2\\sqrt{2}$.", "The answer is 3."],
        item_timeout=0.5,
        stats=stats,
    )
    assert out["answer_agreement"] == ["undetermined", "same", "same"]
    assert stats["timeouts"] == [0]
    answers.shutdown()


def test_stuck_worker_is_killed_and_restarted(tmp_path, monkeypatch):
    """A verify that blocks without using CPU (the CPU budget cannot fire) meets the wall-clock backstop."""
    (tmp_path / "sitecustomize.py").write_text(
        textwrap.dedent(
            """
            import time
            import math_verify

            _verify = math_verify.verify

            def verify(gold, target, **kw):
                if "987654" in repr(gold) + repr(target):
                    time.sleep(600)
                if "123456" in repr(gold) + repr(target):
                    while True:
                        pass
                return _verify(gold, target, **kw)

            math_verify.verify = verify
            """
        )
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(answers, "_BACKSTOP", (1.0, 3.0))  # the budget + 3 s: the test stays short
    answers.shutdown()
    try:
        stats: dict = {}
        chosen = ["The answer is $987654\\sqrt{2}$.", "The answer is $123456\\sqrt{2}$.", "The answer is $\\sqrt{4}$."]
        rejected = ["The answer is $\\sqrt{2}$.", "The answer is $\\sqrt{2}$.", "The answer is 2."]
        out = answer_columns(chosen, rejected, workers=1, item_timeout=0.5, stats=stats)
        assert out["answer_agreement"] == ["undetermined", "undetermined", "same"]
        assert stats["timeouts"] == [0, 1]
        assert stats["worker_restarts"] == 1  # the sleeper was killed; the spinner hit its CPU budget
    finally:
        answers.shutdown()


def test_math_verify_is_not_imported_by_the_cli():
    code = "import sys, curate.cli, curate.answers; print('math_verify' in sys.modules, 'sympy' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["False", "False"]
