"""rich renderings of library results (the library itself never prints)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.table import Table

if TYPE_CHECKING:
    from curate.report import Report


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
    return table
