"""The dataset card (README.md): Hub metadata that `load_dataset` reads, and how the data was made."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from curate.output import DROPPED_PREFIX, shard_sizes, shards_of, split_prefix
from curate.render import CHATML_PROMPT_DOC, CHATML_RESPONSE_DOC
from curate.report import HubSource, LocalSource, Report
from curate.steps import ANSWER_COLUMNS, REASONS, REFERENCE_COLUMNS

TEMPLATE = Path(__file__).parent / "templates" / "dataset_card.md"
BASE_TAGS = ["dpo", "preference", "trl"]
LOCAL_PLACEHOLDER = "path/to/this/folder"  # not the folder's own path: outputs must not depend on where they land
# The card's last part, between these markers, is the user's: a rebuild into the same folder and `curate push`
# carry it over from the folder's README.md; everything else is rendered again from the report.
USER_START = "<!-- curate:user-start -->"
USER_END = "<!-- curate:user-end -->"


def render_card(report: Report, folder: Path, repo_id: str | None = None, notes: str | None = None) -> str:
    """The card for the build folder `folder`; `repo_id` is where it is published (None: a local folder);
    `notes` the user section to keep (None: the template's)."""
    # What `DatasetCard.from_template` does, without importing `huggingface_hub`'s Hub client for it
    # (a tenth of a 100k-row build).
    import jinja2
    import yaml

    data = card_data(report, folder)
    values = {**data.to_dict(), **_template_values(report, repo_id or LOCAL_PLACEHOLDER)}
    values["recipe_yaml"] = yaml.safe_dump(report.recipe.dump(), sort_keys=False, allow_unicode=True)
    content = jinja2.Template(TEMPLATE.read_text(encoding="utf-8")).render(card_data=data.to_yaml(), **values)
    content = content if content.endswith("\n") else content + "\n"
    return content if notes is None else _with_user_section(content, notes)


def user_section(card: str) -> str | None:
    """The text between the card's user markers, None when it has no such section (markers removed)."""
    end = card.rfind(USER_END)
    start = card.rfind(USER_START, 0, max(end, 0))
    return card[start + len(USER_START) : end] if start >= 0 else None


def read_user_section(card: Path) -> str | None:
    """The user section of the card file `card`; None when there is no such file or section."""
    try:
        return user_section(card.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError):
        return None


def _with_user_section(card: str, notes: str) -> str:
    end = card.rindex(USER_END)
    start = card.rindex(USER_START, 0, end) + len(USER_START)
    return card[:start] + notes + card[end:]


def card_data(report: Report, folder: Path):
    from huggingface_hub.repocard_data import DatasetCardData

    meta = report.recipe.card
    hub = report.source if isinstance(report.source, HubSource) else None
    return DatasetCardData(
        license=meta.license or (hub.license if hub else None),
        language=meta.language,
        task_categories=["text-generation"],
        size_categories=[size_category(sum(report.splits.values()))],
        pretty_name=_pretty_name(report),
        source_datasets=[hub.dataset] if hub else None,
        tags=[*BASE_TAGS, *meta.tags, "curate"],
        configs=configs(report),
        dataset_info=dataset_info(report, folder),
    )


def configs(report: Report) -> list[dict]:
    files = [{"split": s, "path": f"{split_prefix(s)}-*"} for s in report.written_splits()]
    dropped = [{"split": "dropped", "path": f"{DROPPED_PREFIX}-*"}]
    default = {"config_name": "default", "default": True, "data_files": files}
    # `datasets` cannot load a config whose only file has no rows, so a build that dropped nothing lists none.
    return [default, {"config_name": "dropped", "data_files": dropped}] if report.rows_dropped else [default]


def dataset_info(report: Report, folder: Path) -> list[dict]:
    """Features, split sizes and byte counts per config, in `push_to_hub`'s form: `num_bytes` is the split's
    Arrow size and `download_size` its parquet bytes, both recorded per file when it was written
    (`report.files`); the features are read from the first file's schema. polars writes strings and lists
    as Arrow `large_string` and `large_list`, so the features say so; `datasets` loads them as they are."""
    default = _info("default", {s: split_prefix(s) for s in report.written_splits()}, report, folder)
    dropped = _info("dropped", {"dropped": DROPPED_PREFIX}, report, folder)
    return [default, dropped] if report.rows_dropped else [default]


def _info(config: str, prefixes: dict[str, str], report: Report, folder: Path) -> dict:
    """What `DatasetInfo._to_yaml_dict` writes (no `datasets` import: it costs as much time as the whole
    curation of 100k rows; no pyarrow either)."""
    import polars as pl

    paths = {split: shards_of(folder, prefix) for split, prefix in prefixes.items()}
    sizes = {split: [_sizes(folder, path, report) for path in files] for split, files in paths.items()}
    schema = pl.read_parquet_schema(next(iter(paths.values()))[0])
    split_bytes = {split: sum(size["arrow_bytes"] for size in found) for split, found in sizes.items()}
    return {
        "config_name": config,
        "features": [_feature(name, dtype) for name, dtype in schema.items()],
        "splits": [
            {"name": s, "num_bytes": split_bytes[s], "num_examples": sum(size["rows"] for size in sizes[s])}
            for s in prefixes
        ],
        "download_size": sum(size["bytes"] for found in sizes.values() for size in found),
        "dataset_size": sum(split_bytes.values()),
    }


def _sizes(folder: Path, path: Path, report: Report) -> dict:
    """The file's recorded sizes; measured again for a folder built before curate recorded them."""
    import polars as pl

    record = report.files.get(path.relative_to(folder).as_posix())
    if record is None or record.arrow_bytes is None or record.rows is None:
        return shard_sizes(path, pl.read_parquet(path))
    return {"bytes": record.bytes, "rows": record.rows, "arrow_bytes": record.arrow_bytes}


def _feature(name: str, dtype) -> dict:
    import polars as pl

    if isinstance(dtype, pl.List) and isinstance(dtype.inner, pl.Struct):
        return {"name": name, "large_list": [_feature(field.name, field.dtype) for field in dtype.inner.fields]}
    dtypes = {pl.String: "large_string", pl.Float64: "float64", pl.Int64: "int64", pl.Boolean: "bool"}
    if dtype not in dtypes:
        raise TypeError(f"no dataset card feature for column {name} of type {dtype}")
    return {"name": name, "dtype": dtypes[dtype]}


def size_category(rows: int) -> str:
    bounds = [(1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K"), (1_000_000, "100K<n<1M")]
    return next((name for bound, name in bounds if rows < bound), "1M<n<10M" if rows < 10_000_000 else "n>10M")


def _pretty_name(report: Report) -> str:
    given = report.recipe.card.pretty_name
    if given:
        return given
    source = report.source
    name = source.dataset.split("/")[-1] if isinstance(source, HubSource) else Path(source.path).stem
    return f"{name} (curated for DPO)"


def _template_values(report: Report, load_id: str) -> dict[str, Any]:
    recipe = report.recipe
    chatml = recipe.render.format == "chatml"
    return {
        "curate_version": report.curate_version,
        "source_line": _source_line(report.source),
        "source_split": report.source.split,
        "rows_in": report.rows_in,
        "rows_kept": report.rows_kept,
        "rows_dropped": report.rows_dropped,
        "split_counts": ", ".join(f"{n} {s}" for s, n in report.splits.items()),
        "splits": list(report.splits.items()),
        "funnel": [
            {"step": step.step, "reason": reason, "meaning": REASONS[reason], "count": count}
            for step in report.steps
            for reason, count in step.dropped.items()
        ],
        "load_id": load_id,
        "near": report.near_duplicates,
        "recipe_near_threshold": recipe.near_dedup.threshold,
        "ngram": recipe.decontaminate.ngram,
        "min_overlap": recipe.decontaminate.min_overlap,
        "benchmarks": report.decontamination,
        "format_words": "standard: ChatML strings" if chatml else "conversational: message lists",
        "prompt_words": CHATML_PROMPT_DOC if chatml else "optional system message, then the user message",
        "chosen_words": f"the preferred response + {CHATML_RESPONSE_DOC}" if chatml else "one assistant message",
        **_answer_values(report),
    }


def _answer_values(report: Report) -> dict[str, Any]:
    """The answer columns and figures; none when the answer checks were off (the card is then as without them)."""
    answers = report.answers
    if answers is None:
        return {"answers": None, "answer_columns": []}
    columns = [*ANSWER_COLUMNS, *(REFERENCE_COLUMNS if answers.reference is not None else ())]
    before, after = answers.agreement.model_dump(), answers.kept.agreement.model_dump()
    share = lambda value: "n/a" if value is None else f"{value:.1%}"  # noqa: E731
    reference = answers.reference
    return {
        "answers": answers,
        "answer_columns": [(name, {**ANSWER_COLUMNS, **REFERENCE_COLUMNS}[name]) for name in columns],
        "agreement_rows": [(state, before[state], after[state]) for state in before],
        "kept_chosen_share": share(answers.kept.chosen_correct_share),
        "kept_rejected_share": share(answers.kept.rejected_correct_share),
        "reference_line": "" if reference is None else _reference_line(reference),
    }


def _reference_line(reference) -> str:
    if reference.kind == "column":
        return f"source column `{reference.column}`, {reference.pairs} pairs"
    where = reference.dataset or reference.path
    return f"`{where}` joined on the normalised prompt, {reference.pairs} pairs matched"


def _source_line(source: LocalSource | HubSource) -> str:
    if isinstance(source, HubSource):
        url = f"https://huggingface.co/datasets/{source.dataset}/tree/{source.sha}"
        return f"[`{source.dataset}`]({url}) at commit `{source.sha}` (requested `{source.revision}`)"
    return f"local files `{source.path}`"
