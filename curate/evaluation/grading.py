"""Grading answers against references: curate.answers (math-verify, gold first) for every set, and for GSM8K-style
references also lm-eval-harness's `strict-match` and `flexible-extract` (its gsm8k task's regexes and exact-match
settings), so the numbers compare with published model cards."""

from __future__ import annotations

import re

# lm-eval's gsm8k task (lm_eval/tasks/gsm8k/gsm8k.yaml): the two filters and exact_match's normalisation.
STRICT_MATCH = re.compile(r"#### (\-?[0-9\.\,]+)")  # the first match
FLEXIBLE_EXTRACT = re.compile(r"(-?[$0-9.,]{2,})|(-?[0-9]+)")  # the last match
IGNORED = (",", r"\$", r"(?s).*#### ", r"\.$")  # removed from prediction and reference, in order, then lowercased
INVALID = "[invalid]"  # lm-eval's fallback when the regex finds nothing


def strict_match(generation: str) -> str:
    found = STRICT_MATCH.findall(generation)
    return found[0].strip() if found else INVALID


def flexible_extract(generation: str) -> str:
    found = FLEXIBLE_EXTRACT.findall(generation)
    if not found:
        return INVALID
    return next(group for group in found[-1] if group).strip()


def lm_eval_normalised(text: str) -> str:
    for pattern in IGNORED:
        text = re.sub(pattern, "", text)
    return text.lower()


def exact_match(prediction: str, reference: str) -> bool:
    """lm-eval's exact_match with the gsm8k task's settings (ignore_case, regexes_to_ignore)."""
    return lm_eval_normalised(prediction) == lm_eval_normalised(reference)


def grade(generations: list[str], references: list[str], gsm8k_style: bool, workers: int = 2) -> dict[str, list]:
    """Per-item columns: `reference_answer` and `extracted_answer` (curate.answers), `verdict` (correct, incorrect or
    undetermined: math-verify, gold first) and, for GSM8K-style references, `strict_match`/`strict_correct` and
    `flexible_extract`/`flexible_correct`."""
    from curate.answers import answer_columns, reference_answer

    graded = answer_columns(generations, generations, references, workers=workers)
    columns: dict[str, list] = {
        "reference_answer": [_answer_text(reference_answer(r)) for r in references],
        "extracted_answer": graded["chosen_answer"],
        "verdict": graded["chosen_correct"],
    }
    if gsm8k_style:
        strict = [strict_match(g) for g in generations]
        flexible = [flexible_extract(g) for g in generations]
        columns["strict_match"] = strict
        columns["strict_correct"] = [exact_match(p, r) for p, r in zip(strict, references, strict=True)]
        columns["flexible_extract"] = flexible
        columns["flexible_correct"] = [exact_match(p, r) for p, r in zip(flexible, references, strict=True)]
    return columns


def _answer_text(extracted) -> str | None:
    return None if extracted is None else extracted.answer


# The accuracy metrics of a graded set: name -> (the column, the value that counts as right).
METRICS = {
    "math_verify": ("verdict", "correct"),
    "strict_match": ("strict_correct", True),
    "flexible_extract": ("flexible_correct", True),
}
