"""rich renderings of eval results (the library itself never prints)."""

from __future__ import annotations

from typing import Any

from rich.table import Table

METRIC_LABELS = {"math_verify": "math-verify", "strict_match": "strict-match", "flexible_extract": "flexible-extract"}


def results_table(results: dict[str, Any]) -> Table:
    """One row per set, model and metric: accuracy with its 95% interval; then each before/after difference."""
    table = Table(title="curate eval")
    for name, justify in (("set", "left"), ("model", "left"), ("metric", "left"), ("correct", "right")):
        table.add_column(name, justify=justify)
    table.add_column("accuracy [95% CI]", justify="right")
    for task, entry in results["tasks"].items():
        for role, scores in entry["scores"].items():
            for metric, label in METRIC_LABELS.items():
                if metric in scores:
                    s = scores[metric]
                    interval = f"{s['accuracy']:.1%} [{s['ci95'][0]:.1%}, {s['ci95'][1]:.1%}]"
                    table.add_row(task, role, label, f"{s['correct']}/{s['items']}", interval)
            truncated = f"{scores['truncated']} of {entry['items']} answers hit max_new_tokens"
            table.add_row("", "", "truncated", "", truncated, style="dim")
    return table


def comparison_lines(results: dict[str, Any]) -> list[str]:
    """`set metric: +2.0 points (95% CI ...; McNemar p = ...): within noise`, per set and metric."""
    lines = []
    for task, entry in results["tasks"].items():
        for metric, compared in entry.get("comparison", {}).items():
            lines.append(f"{task} {METRIC_LABELS[metric]}, trained - base: {compared['verdict']}")
    return lines
