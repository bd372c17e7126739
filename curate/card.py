"""The dataset card (README.md): Hub metadata that `load_dataset` reads, and how the data was made."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from curate.output import DROPPED_PREFIX, shards_of, split_prefix
from curate.steps.reasons import REASONS

TEMPLATE = Path(__file__).parent / "templates" / "dataset_card.md"
BASE_TAGS = ["dpo", "preference", "trl"]
LOCAL_PLACEHOLDER = "path/to/this/folder"  # not the folder's own path: outputs must not depend on where they land


def render_card(report: dict[str, Any], folder: Path, repo_id: str | None = None) -> str:
    """The card for the build folder `folder`; `repo_id` is where it is published (None: a local folder)."""
    # What `DatasetCard.from_template` does, without importing `huggingface_hub`'s Hub client for it
    # (a tenth of a 100k-row build).
    import jinja2
    import yaml

    data = card_data(report, folder)
    values = {**data.to_dict(), **_template_values(report, repo_id or LOCAL_PLACEHOLDER)}
    values["recipe_yaml"] = yaml.safe_dump(report["recipe"], sort_keys=False, allow_unicode=True)
    content = jinja2.Template(TEMPLATE.read_text(encoding="utf-8")).render(card_data=data.to_yaml(), **values)
    return content if content.endswith("\n") else content + "\n"


def card_data(report: dict[str, Any], folder: Path):
    from huggingface_hub.repocard_data import DatasetCardData

    meta = report["recipe"]["card"]
    source = report["source"]
    return DatasetCardData(
        license=meta["license"] or source.get("license"),
        language=meta["language"],
        task_categories=["text-generation"],
        size_categories=[size_category(sum(report["splits"].values()))],
        pretty_name=_pretty_name(report),
        source_datasets=[source["dataset"]] if source["kind"] == "hub" else None,
        tags=[*BASE_TAGS, *meta["tags"], "curate"],
        configs=configs(report),
        dataset_info=dataset_info(report, folder),
    )


def configs(report: dict[str, Any]) -> list[dict]:
    files = [{"split": s, "path": f"{split_prefix(s)}-*"} for s in written_splits(report)]
    dropped = [{"split": "dropped", "path": f"{DROPPED_PREFIX}-*"}]
    default = {"config_name": "default", "default": True, "data_files": files}
    # `datasets` cannot load a config whose only file has no rows, so a build that dropped nothing lists none.
    return [default, {"config_name": "dropped", "data_files": dropped}] if report["rows_dropped"] else [default]


def written_splits(report: dict[str, Any]) -> list[str]:
    """Splits with a file: train always (possibly empty), test when it has rows."""
    return [s for s, n in report["splits"].items() if n > 0 or s == "train"]


def dataset_info(report: dict[str, Any], folder: Path) -> list[dict]:
    """Features, split sizes and byte counts per config, in `push_to_hub`'s form, read from the files
    (polars writes strings as Arrow `large_string`, so the features say so; `datasets` loads them as is)."""
    default = _info("default", {s: shards_of(folder, split_prefix(s)) for s in written_splits(report)})
    dropped = _info("dropped", {"dropped": shards_of(folder, DROPPED_PREFIX)})
    return [default, dropped] if report["rows_dropped"] else [default]


def _info(config: str, files: dict[str, list[Path]]) -> dict:
    """What `DatasetInfo._to_yaml_dict` writes, read from parquet footers (no `datasets` import: it costs
    as much time as the whole curation of 100k rows)."""
    import pyarrow.parquet as pq

    footers = {split: [pq.ParquetFile(path).metadata for path in paths] for split, paths in files.items()}
    rows = {split: sum(meta.num_rows for meta in metas) for split, metas in footers.items()}
    sizes = {
        split: sum(meta.row_group(i).total_byte_size for meta in metas for i in range(meta.num_row_groups))
        for split, metas in footers.items()
    }
    schema = pq.read_schema(next(iter(files.values()))[0])
    return {
        "config_name": config,
        "features": [_feature(field) for field in schema],
        "splits": [{"name": s, "num_bytes": sizes[s], "num_examples": rows[s]} for s in files],
        "download_size": sum(path.stat().st_size for paths in files.values() for path in paths),
        "dataset_size": sum(sizes.values()),
    }


def _feature(field) -> dict:
    import pyarrow as pa

    kind = field.type
    lists = {"list": pa.types.is_list(kind), "large_list": pa.types.is_large_list(kind)}
    for name, is_list in lists.items():
        if is_list and pa.types.is_struct(kind.value_type):
            struct = kind.value_type
            return {"name": field.name, name: [_feature(struct.field(i)) for i in range(struct.num_fields)]}
    dtypes = {pa.string(): "string", pa.large_string(): "large_string", pa.float64(): "float64"}
    dtypes |= {pa.int64(): "int64", pa.bool_(): "bool"}
    if kind not in dtypes:
        raise TypeError(f"no dataset card feature for column {field.name} of type {kind}")
    return {"name": field.name, "dtype": dtypes[kind]}


def size_category(rows: int) -> str:
    bounds = [(1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K"), (1_000_000, "100K<n<1M")]
    return next((name for bound, name in bounds if rows < bound), "1M<n<10M" if rows < 10_000_000 else "n>10M")


def _pretty_name(report: dict[str, Any]) -> str:
    given = report["recipe"]["card"]["pretty_name"]
    if given:
        return given
    source = report["source"]
    name = source["dataset"].split("/")[-1] if source["kind"] == "hub" else Path(source["path"]).stem
    return f"{name} (curated for DPO)"


def _template_values(report: dict[str, Any], load_id: str) -> dict[str, Any]:
    source = report["source"]
    chatml = report["recipe"]["render"]["format"] == "chatml"
    return {
        "curate_version": report["curate_version"],
        "source_line": _source_line(source),
        "source_split": source["split"],
        "rows_in": report["rows_in"],
        "rows_kept": report["rows_kept"],
        "rows_dropped": report["rows_dropped"],
        "split_counts": ", ".join(f"{n} {s}" for s, n in report["splits"].items()),
        "splits": list(report["splits"].items()),
        "funnel": [
            {"step": step["step"], "reason": reason, "meaning": REASONS[reason], "count": count}
            for step in report["steps"]
            for reason, count in step["dropped"].items()
        ],
        "load_id": load_id,
        "near": report.get("near_duplicates") or {},
        "recipe_near_threshold": report["recipe"]["near_dedup"]["threshold"],
        "ngram": report["recipe"]["decontaminate"]["ngram"],
        "min_overlap": report["recipe"]["decontaminate"]["min_overlap"],
        "benchmarks": report.get("decontamination") or [],
        "format_words": "standard: ChatML strings" if chatml else "conversational: message lists",
        "prompt_words": "optional system turn + `<|im_start|>user\\n...<|im_end|>\\n<|im_start|>assistant\\n`, no BOS"
        if chatml
        else "optional system message, then the user message",
        "chosen_words": "the preferred response + `<|im_end|>` (the model's EOS, exactly once)"
        if chatml
        else "one assistant message",
    }


def _source_line(source: dict[str, Any]) -> str:
    if source["kind"] == "hub":
        url = f"https://huggingface.co/datasets/{source['dataset']}/tree/{source['sha']}"
        return f"[`{source['dataset']}`]({url}) at commit `{source['sha']}` (requested `{source['revision']}`)"
    return f"local files `{source['path']}`"
