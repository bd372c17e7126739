"""`curate answers OUT`: a few pairs of each answer state from a build folder, with the sentence each final answer
was taken from, so a user can judge the extraction before trusting the columns."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from curate.errors import InputError

STATES = ("same", "different", "undetermined")
VERDICTS = ("correct", "incorrect", "undetermined")


@dataclass(frozen=True)
class AnswerSample:
    state: str  # "same", or "chosen incorrect" with a reference
    where: str  # "train:12", "dropped:40 same_final_answer"
    chosen_span: str | None  # the sentence (or \boxed{}) the chosen answer was taken from
    chosen_answer: str | None
    rejected_span: str | None
    rejected_answer: str | None
    reference_answer: str | None


def answer_samples(folder: Path, per_state: int = 3) -> list[AnswerSample]:
    """Up to `per_state` pairs per agreement state (and per chosen verdict, with a reference), spread evenly over
    the folder's rows in source order (the same folder gives the same samples)."""
    import polars as pl

    from curate.output import verify_build

    report = verify_build(folder)
    if report.answers is None:
        raise InputError(
            f"{folder} was built without the answer checks",
            hint="Build it with `curate build --answers` (or `answers.enabled: true` in the recipe).",
        )
    rows = _rows(folder, report).sort("source_row")
    groups = [(state, pl.col("answer_agreement") == state) for state in STATES]
    if report.answers.reference is not None:
        groups += [(f"chosen {verdict}", pl.col("chosen_correct") == verdict) for verdict in VERDICTS]
    return [sample for state, rule in groups for sample in _spread(rows.filter(rule), state, per_state)]


def _rows(folder: Path, report):
    """Every row that went through the answers step: the splits' and the dropped ones', with their texts."""
    import polars as pl

    from curate.output import DROPPED_PREFIX, shards_of, split_prefix

    parts = []
    for split in report.written_splits():
        for path in shards_of(folder, split_prefix(split)):
            frame = pl.read_parquet(path)
            where = pl.format("{}:{}", pl.lit(split), "source_row")
            parts.append(frame.with_columns(_response("chosen", frame), _response("rejected", frame), where=where))
    for path in shards_of(folder, DROPPED_PREFIX):
        frame = pl.read_parquet(path).filter(pl.col("answer_agreement").is_not_null())
        where = pl.format("dropped:{} {}", "source_row", "reason")
        parts.append(frame.with_columns(where=where))
    columns = ["where", "source_row", "chosen", "rejected", "chosen_answer", "rejected_answer", "answer_agreement"]
    columns += [c for c in ("reference_answer", "chosen_correct") if c in parts[0].columns]
    return pl.concat([part.select(columns) for part in parts])


def _response(name: str, frame):
    """The response as written: a chatml string less its end token, or the one assistant message's content."""
    import polars as pl

    from curate.render import RESPONSE_END

    column = pl.col(name)
    if frame[name].dtype == pl.String:
        return column.str.strip_suffix(RESPONSE_END)
    return column.list.first().struct.field("content").alias(name)


def _spread(rows, state: str, per_state: int) -> list[AnswerSample]:
    from curate.answers import final_answer

    picked = [rows.row(i * rows.height // per_state, named=True) for i in range(min(per_state, rows.height))]
    samples = []
    for row in picked:
        chosen, rejected = final_answer(row["chosen"]), final_answer(row["rejected"])
        samples.append(
            AnswerSample(
                state=state,
                where=row["where"],
                chosen_span=chosen.span if chosen else None,
                chosen_answer=row["chosen_answer"],
                rejected_span=rejected.span if rejected else None,
                rejected_answer=row["rejected_answer"],
                reference_answer=row.get("reference_answer"),
            )
        )
    return samples
