"""The build's steps, declared: the one ordered registry `STEPS`. The pipeline runs it and checks each step
against its declaration; the drop-reason table (`REASONS`, the README's, the card's), the CLI's progress
labels and the JSON Schema's step and reason enums are derived from it, and tests hold those copies to it.

A step `name` is the function `name` in `curate/steps/name.py` (`validate.validate`). It is given the rows still
kept with only `row` and the columns it `reads`, then its recipe sections (`config`, in order) and the fields of
the run's context it names (`context`, by name). It returns the rows it drops: `row`, `reason`, `detail` and the
columns it `carries`; it never filters. The pipeline removes what a step drops before the next step runs, so
every row has exactly one reason: that of the first rule it fails. Before its rules, a step may `annotate` the
rows still kept with columns computed over them (near-duplicate clusters, lengths).

This module imports nothing heavy, so `curate --help` can read the labels; a step's code is imported when it
first runs. The polars helpers steps share are in `rules.py`.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Reason:
    name: str  # snake_case, in the dropped rows' `reason` column
    meaning: str  # one line: the README's drop-reason table and the card show it


@dataclass(frozen=True)
class Annotation:
    """Columns a function adds to the rows still kept, computed over all of them. `function` ("module:name") is
    given `row` and the columns it `reads`, then its recipe sections and context fields as a step is; it returns
    that frame with the columns it `adds`, in the same row order (and, for a step's annotation, figures for the
    report)."""

    function: str
    reads: tuple[str, ...]
    adds: tuple[str, ...]
    config: tuple[str, ...] = ()
    context: tuple[str, ...] = ()
    # Its columns are output: in the splits, and in the dropped rows (null in rows dropped before it ran).
    written: bool = False

    def resolve(self) -> Callable[..., Any]:
        module, name = self.function.split(":")
        return getattr(importlib.import_module(module), name)


@dataclass(frozen=True)
class Step:
    name: str
    label: str  # what `curate build` shows while the step runs
    reasons: tuple[Reason, ...]  # in rule order
    reads: tuple[str, ...]  # besides `row`, which every step is given
    config: tuple[str, ...] = ()  # recipe sections, passed in this order after the frame
    context: tuple[str, ...] = ()  # fields of the pipeline's StepContext, passed by name
    annotate: Annotation | None = None
    carries: tuple[str, ...] = ()  # columns its drops hold besides row, reason, detail: kept on the dropped frame
    runs_with: str | None = None  # a context field: the step runs only when it is non-empty

    def resolve(self) -> Callable[..., Any]:
        return getattr(importlib.import_module(f"curate.steps.{self.name}"), self.name)


TEXTS = ("prompt", "chosen", "rejected")
RATINGS = ("chosen_rating", "rejected_rating")
PROMPT_KEY = ("system_key", "prompt_key")

# What `normalize.with_keys` adds before the first step: the normalised keys the dedup rules, near-dup and the
# split compare, and the `*_blank` marks that validate reads.
KEYS = Annotation(
    "curate.normalize:with_keys",
    reads=("system", *TEXTS),
    adds=(
        *PROMPT_KEY,
        "key_hash",
        "responses_equal",
        "responses_hash",
        "prompt_blank",
        "chosen_blank",
        "rejected_blank",
    ),
)

# What the answers step adds (curate/answers.py), with what each column means (the card and the row schemas say
# it): each response's final answer and whether the two agree; with a reference answer, that answer and whether
# each response reaches it.
ANSWER_COLUMNS = {
    "chosen_answer": "The chosen response's final answer as written (null: none found).",
    "rejected_answer": "The rejected response's final answer as written (null: none found).",
    "answer_agreement": "same, different or undetermined: do the two final answers agree.",
}
REFERENCE_COLUMNS = {
    "reference_answer": "The reference answer (null: this prompt has none).",
    "chosen_correct": "correct, incorrect or undetermined: the chosen answer against the reference.",
    "rejected_correct": "correct, incorrect or undetermined: the rejected answer against the reference.",
}

STEPS = (
    Step(
        "validate",
        "validating rows",
        (
            Reason(
                "empty_prompt",
                "the prompt is missing or shows nothing (empty, or only whitespace, control or format characters "
                "such as NUL and zero-width spaces)",
            ),
            Reason("empty_chosen", "the chosen response is missing or shows nothing (as for `empty_prompt`)"),
            Reason("empty_rejected", "the rejected response is missing or shows nothing (as for `empty_prompt`)"),
            Reason("missing_rating", "a rating is missing (the source has rating columns)"),
            Reason(
                "non_numeric_rating",
                "a rating is not a finite number (text that does not parse, NaN or infinity), or the gap overflows",
            ),
            Reason("control_token", "a text contains a ChatML control token (`<|im_start|>`, `<|im_end|>`)"),
            Reason("text_too_long", "prompt + longer response exceed `validate.max_chars` characters"),
        ),
        reads=("system", *TEXTS, *RATINGS, "rating_problem", "prompt_blank", "chosen_blank", "rejected_blank"),
        config=("validate",),
        context=("has_ratings",),
    ),
    Step(
        "preference",
        "checking preferences",
        (
            Reason("identical_responses", "chosen and rejected are the same after normalisation"),
            Reason("inverted_rating", "the chosen response is rated below the rejected one"),
            Reason("tie", "both responses have the same rating"),
            Reason("small_rating_gap", "the rating gap is below `preference.min_rating_gap`"),
        ),
        reads=("responses_equal", *RATINGS),
        config=("preference",),
        context=("has_ratings",),
    ),
    # Before dedup, so a duplicate group never keeps the copy that leaks a benchmark item.
    Step(
        "decontaminate",
        "checking for benchmark items",
        (
            Reason(
                "contaminated",
                "the prompt, chosen or rejected text overlaps a benchmark item (GSM8K, MATH-500 or one named in the "
                "recipe): it holds at least `decontaminate.min_overlap` of the item's word n-grams",
            ),
        ),
        reads=TEXTS,
        config=("decontaminate",),
        context=("benchmarks",),
        carries=("benchmark", "item", "text"),  # the first match, which `detail` spells out
        runs_with="benchmarks",
    ),
    Step(
        "dedup",
        "removing duplicates",
        (
            Reason("duplicate_pair", "the same prompt, chosen and rejected (normalised) as an earlier kept row"),
            Reason(
                "duplicate_prompt",
                "another pair for the same normalised prompt was kept (largest gap, then highest chosen rating, "
                "then first seen)",
            ),
        ),
        reads=(*PROMPT_KEY, "key_hash", "responses_hash", "chosen", "rejected", *RATINGS),
        config=("dedup",),
    ),
    Step(
        "near_dedup",
        "finding near-duplicate prompts",
        (
            Reason(
                "near_duplicate_prompt",
                "the prompt is a near-duplicate (shingle Jaccard at least `near_dedup.threshold`) of a prompt kept in "
                "its cluster (same keep rule as `duplicate_prompt`)",
            ),
        ),
        reads=(*PROMPT_KEY, "cluster", *RATINGS),
        config=("near_dedup",),
        annotate=Annotation(
            "curate.steps.near_dedup:with_clusters",
            reads=(*PROMPT_KEY, "key_hash"),
            adds=("cluster",),
            config=("near_dedup",),
        ),
    ),
    # After dedup (each answer is checked once, on the pairs that remain), before length (a dropped pair's
    # lengths would be measured for nothing).
    Step(
        "answers",
        "checking final answers",
        (
            Reason(
                "chosen_incorrect",
                "with a reference answer (`answers.reference`): the chosen response's final answer is not it",
            ),
            Reason(
                "rejected_correct",
                "with a reference answer: the rejected response's final answer is it, so the pair teaches the wrong "
                "thing",
            ),
            Reason(
                "same_final_answer",
                "both responses reach the same final answer (`answers.drop_same_final_answer`): the pair teaches "
                "style, not correctness",
            ),
        ),
        reads=(*ANSWER_COLUMNS, *REFERENCE_COLUMNS),
        config=("answers",),
        annotate=Annotation(
            "curate.steps.answers:with_answers",
            reads=("prompt_key", "chosen", "rejected", "reference"),
            adds=(*ANSWER_COLUMNS, *REFERENCE_COLUMNS),
            config=("answers",),
            context=("answer_references",),
            written=True,
        ),
        runs_with="answer_references",
    ),
    Step(
        "length",
        "measuring lengths",
        (
            Reason("too_long", "prompt + longer response exceed `tokens.max_length` tokens of `tokens.tokenizer`"),
            Reason(
                "length_bias",
                "one of the most length-skewed chosen-longer pairs, dropped to keep their share within "
                "`length_bias.max_chosen_longer_share`",
            ),
        ),
        reads=("prompt_len", "chosen_len", "rejected_len"),
        config=("tokens", "length_bias"),
        # Token lengths are measured on the rendered pairs, which hold the ratings too.
        annotate=Annotation(
            "curate.steps.length:with_lengths",
            reads=("system", *TEXTS, *RATINGS),
            adds=("prompt_len", "chosen_len", "rejected_len"),
            config=("tokens", "render"),
        ),
    ),
)

REASONS = {reason.name: reason.meaning for step in STEPS for reason in step.reasons}  # every reason, in rule order
