"""The dataset card (README.md) of a build folder: YAML that `load_dataset` reads, and how it was made."""

from __future__ import annotations

from typing import Any

from curate.output import DROPPED_PATH, split_path


def card_metadata(report: dict[str, Any]) -> dict[str, Any]:
    splits = [s for s, n in report["splits"].items() if n > 0 or s == "train"]
    return {
        "configs": [
            {
                "config_name": "default",
                "default": True,
                "data_files": [
                    {"split": s, "path": split_path(s).replace("00000-of-00001.parquet", "*")} for s in splits
                ],
            },
            {"config_name": "dropped", "data_files": [{"split": "dropped", "path": "dropped/dropped-*"}]},
        ],
        "task_categories": ["text-generation"],
        "tags": ["dpo", "preference", "trl", "curate"],
    }


def render_card(report: dict[str, Any]) -> str:
    import yaml

    header = yaml.safe_dump(card_metadata(report), sort_keys=False, allow_unicode=True)
    return f"---\n{header}---\n\n{_body(report)}"


def _body(report: dict[str, Any]) -> str:
    source = report["source"]
    origin = (
        f"`{source['dataset']}` at revision `{source['sha']}` (requested `{source['revision']}`)"
        if source["kind"] == "hub"
        else f"local files under `{source['path']}`"
    )
    fmt = report["recipe"]["render"]["format"]
    lines = [
        "# Curated DPO preference pairs",
        "",
        f"Built by curate {report['curate_version']} from {origin}, split `{source['split']}`.",
        f"Format: TRL preference rows (`prompt`, `chosen`, `rejected`), {_format_words(fmt)}.",
        "",
        "```python",
        "from datasets import load_dataset",
        'ds = load_dataset("PATH_OR_REPO")            # train and test splits',
        'dropped = load_dataset("PATH_OR_REPO", "dropped")  # every dropped row with its reason',
        "```",
        "",
        "## Rows",
        "",
        "| | rows |",
        "|---|---:|",
        f"| input | {report['rows_in']} |",
        *[
            f"| dropped: {step['step']} / {reason} | {n} |"
            for step in report["steps"]
            for reason, n in step["dropped"].items()
        ],
        *[f"| {split} split | {n} |" for split, n in report["splits"].items()],
        "",
        "The full recipe, the source files' hashes and this folder's file hashes are in `report.json`.",
        f"Dropped rows: `{DROPPED_PATH}`.",
        "",
    ]
    return "\n".join(lines)


def _format_words(fmt: str) -> str:
    if fmt == "chatml":
        return "ChatML strings (prompt ends with `<|im_start|>assistant\\n`, responses end with `<|im_end|>`)"
    return "conversational message lists"
