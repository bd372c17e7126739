"""Step `answers`: pairs whose final answers show that the preference is not about the right answer.

The annotation extracts each response's final answer and compares the two (and each with the reference answer,
when there is one) with `curate.answers.answer_columns`, once over the rows still kept. The rules then drop, in
order: a chosen answer that is wrong against the reference, a rejected answer that is right, and (only when the
recipe asks) two answers that agree. `undetermined` never drops: dropping never guesses.
"""

from __future__ import annotations

from typing import Any

import polars as pl

from curate.config import AnswersConfig
from curate.references import AnswerReferences
from curate.steps import ANSWER_COLUMNS, REFERENCE_COLUMNS
from curate.steps.rules import Rule, first_failing

COUNTED = ("fast", "math_verify", "worker_restarts")  # answer_columns' counts the report keeps (not its seconds)


def with_answers(
    frame: pl.DataFrame, config: AnswersConfig, answer_references: AnswerReferences
) -> tuple[pl.DataFrame, dict[str, Any]]:
    """The rows with the answer columns (the reference ones null without a reference), and the figures of the
    check: how many pairs took each path, timed out or failed, and where the references came from."""
    from curate.answers import answer_columns

    references = _reference_texts(frame, answer_references)
    stats: dict[str, Any] = {}
    columns = answer_columns(
        frame["chosen"].to_list(),
        frame["rejected"].to_list(),
        None if references is None else references.to_list(),
        workers=config.workers,
        item_timeout=config.item_timeout,
        stats=stats,
    )
    added = [pl.Series(name, columns.get(name, [None] * frame.height), pl.String) for name in _ADDED]
    annotated = frame.with_columns(added)
    with_reference = None if references is None else references.is_not_null().sum()
    figures: dict[str, Any] = {
        "reference": None if references is None else {**answer_references.source, "pairs": with_reference},
        "pairs": frame.height,
        "agreement": counts(annotated["answer_agreement"], AGREEMENT),
        "chosen": None if references is None else counts(annotated["chosen_correct"], CORRECTNESS),
        "rejected": None if references is None else counts(annotated["rejected_correct"], CORRECTNESS),
    }
    figures |= {name: stats[name] for name in COUNTED}
    return annotated, figures | {"timeouts": len(stats["timeouts"]), "errors": len(stats["errors"])}


AGREEMENT = ("same", "different", "undetermined")
CORRECTNESS = ("correct", "incorrect", "undetermined")


def counts(values: pl.Series, states: tuple[str, ...]) -> dict[str, int]:
    """Rows per state, every state named (0 when none)."""
    return {state: int((values == state).sum()) for state in states}


def answers_report(figures: dict[str, Any], kept: pl.DataFrame) -> dict[str, Any]:
    """The report's `answers` section: the step's figures, and the answers of the pairs finally kept."""
    has_reference = figures["reference"] is not None

    def share(column: str) -> float | None:
        return round(float((kept[column] == "correct").mean()), 4) if has_reference and kept.height else None

    figures_kept = {
        "pairs": kept.height,
        "agreement": counts(kept["answer_agreement"], AGREEMENT),
        "chosen_correct_share": share("chosen_correct"),
        "rejected_correct_share": share("rejected_correct"),
    }
    return {**figures, "kept": figures_kept}


_ADDED = (*ANSWER_COLUMNS, *REFERENCE_COLUMNS)


def _reference_texts(frame: pl.DataFrame, references: AnswerReferences) -> pl.Series | None:
    """Per row its reference answer text (null where it has none); None when the build has no reference."""
    if references.kind == "column":
        return frame["reference"]
    if references.kind == "set" and references.by_question is not None:
        joined = frame.select("prompt_key").join(
            references.by_question, on="prompt_key", how="left", maintain_order="left"
        )
        return joined["reference"]
    return None


def answers(frame: pl.DataFrame, config: AnswersConfig) -> pl.DataFrame:
    # Without a reference the correctness columns are null, and a null never fails a rule.
    rules = []
    if config.drop_chosen_incorrect:
        rules.append(Rule("chosen_incorrect", pl.col("chosen_correct") == "incorrect", _detail()))
    if config.drop_rejected_correct:
        rules.append(Rule("rejected_correct", pl.col("rejected_correct") == "correct", _detail()))
    if config.drop_same_final_answer:
        rules.append(Rule("same_final_answer", pl.col("answer_agreement") == "same", _detail()))
    return first_failing(frame, rules)


def _detail() -> pl.Expr:
    """`chosen 27 / rejected 26 (different); reference 26`: the two answers, and the reference's when there is one."""
    shown = [pl.col(name).fill_null("none") for name in ("chosen_answer", "rejected_answer", "answer_agreement")]
    pair = pl.format("chosen {} / rejected {} ({})", *shown)
    reference = pl.format("; reference {}", pl.col("reference_answer"))
    return pl.concat_str(pair, reference.fill_null(""))


def written_columns(figures: dict[str, Any]) -> list[str]:
    """The answer columns a build writes: the reference ones only when it had a reference."""
    return [*ANSWER_COLUMNS, *(REFERENCE_COLUMNS if figures["reference"] is not None else ())]
