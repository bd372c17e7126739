"""rich renderings of library results (the library itself never prints)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.table import Table

if TYPE_CHECKING:
    from pydantic import BaseModel

    from curate.answer_view import AnswerSample
    from curate.report import Answers, Report


def funnel_table(report: Report) -> Table:
    """Rows in, dropped per step and reason, rows per split: the whole account of the build."""
    table = Table(title="curate build", show_footer=False)
    table.add_column("step")
    table.add_column("reason")
    table.add_column("rows", justify="right")
    table.add_column("share", justify="right")
    total = report.rows_in or 1
    table.add_row("input", "", f"{report.rows_in:,}", "100.0%", style="bold")
    for step in report.steps:
        for reason, count in step.dropped.items():
            table.add_row(step.step, reason, f"-{count:,}", f"{count / total:.1%}")
    table.add_row("kept", "", f"{report.rows_kept:,}", f"{report.rows_kept / total:.1%}", style="bold")
    for split, count in report.splits.items():
        table.add_row("split", split, f"{count:,}", f"{count / total:.1%}")
    near = report.near_duplicates
    clusters = f"{near.clusters:,} clusters, largest {near.largest:,} rows"
    table.add_row("near_dedup", "clusters", clusters, "", style="dim")
    for bench in report.decontamination:
        matched = f"{bench.pairs_dropped:,} pairs, {bench.items_matched:,} of {bench.items:,} items"
        table.add_row("decontaminate", bench.name, matched, "", style="dim")
    for split, figures in report.lengths.splits.items():
        share, ratio = figures.bias.chosen_longer_share, figures.bias.median_length_ratio
        if share is not None:
            bias = f"chosen longer in {share:.1%}, median ratio {ratio:.2f}x ({report.lengths.unit})"
            table.add_row("length bias", split, bias, "", style="dim")
    if report.answers is not None:
        for what, figures in answer_lines(report.answers):
            table.add_row("answers", what, figures, "", style="dim")
    return table


def answer_lines(answers: Answers) -> list[tuple[str, str]]:
    """The answer checks in a few lines: agreement before and after, correctness, how they were decided."""
    lines = [("agreement", _states(answers.agreement)), ("kept agreement", _states(answers.kept.agreement))]
    for side, verdicts in (("chosen", answers.chosen), ("rejected", answers.rejected)):
        if verdicts is not None:
            lines.append((side, _states(verdicts)))
    if answers.kept.chosen_correct_share is not None:
        lines.append(("kept chosen correct", f"{answers.kept.chosen_correct_share:.1%} of {answers.kept.pairs:,}"))
    paths = f"{answers.fast:,} fast, {answers.math_verify:,} math-verify, {answers.timeouts:,} timeouts"
    return [*lines, ("decided", paths)]


def _states(counts: BaseModel) -> str:
    return ", ".join(f"{state} {count:,}" for state, count in counts.model_dump().items())


def answers_table(samples: list[AnswerSample], folder: str) -> Table:
    """Per answer state, sample pairs: where each final answer was read, and what was read (in bold)."""
    from rich.markup import escape

    table = Table(title=f"curate answers: {folder}", show_lines=True)
    for name in ("state", "row", "chosen: sentence -> answer", "rejected: sentence -> answer", "reference"):
        table.add_column(name)
    for sample in samples:
        table.add_row(
            sample.state,
            escape(sample.where),
            _read(sample.chosen_span, sample.chosen_answer),
            _read(sample.rejected_span, sample.rejected_answer),
            escape(sample.reference_answer or ""),
        )
    return table


def _read(span: str | None, answer: str | None) -> str:
    from rich.markup import escape

    if answer is None:
        return "[dim]no final answer[/dim]" + (f"\n{escape(span)}" if span else "")
    return f"{escape(span or '')}\n-> [bold]{escape(answer)}[/bold]"
