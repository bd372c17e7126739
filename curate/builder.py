"""`curate build` as a library call: load, run the steps, render, split and write the folder."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict
from pathlib import Path

import polars as pl

from curate import __version__
from curate.card import read_user_section, render_card
from curate.config import Recipe
from curate.eval_sets import Benchmark, load_benchmarks
from curate.eval_sets import resolve as resolve_benchmark
from curate.output import (
    DROPPED_COLUMNS,
    DROPPED_PREFIX,
    sha256_file,
    shard_sizes,
    split_prefix,
    staged_output,
    write_report,
    write_shards,
)
from curate.pipeline import PipelineResult, run_pipeline
from curate.references import load_references
from curate.render import Renderer, render, renderer
from curate.report import SPLITS, FileRecord, Report
from curate.sources import LoadedSource, load_source
from curate.split import assign_splits
from curate.steps.decontaminate import contamination_report
from curate.steps.length import length_report

RENDERED_FROM = ["row", "system", "prompt", "chosen", "rejected", "chosen_rating", "rejected_rating"]
Progress = Callable[[str], None]


def build(recipe: Recipe, out: str | Path, progress: Progress | None = None) -> Report:
    """Build the dataset folder `out` from the recipe's source and return its report (what report.json
    holds). `progress` is told each stage's name as it starts. `out` is checked, and
    its staging folder made, before the source is read: a bad --out fails at once, not after the build. A
    build that keeps no pair is still written (its dropped rows say why) and returns a report whose
    `rows_kept` is 0: the caller decides how to end (the CLI exits with NoPairsError's code)."""
    say = progress or (lambda _stage: None)
    with staged_output(Path(out), _inputs(recipe)) as staged:
        say("load")
        source = load_source(recipe.source)
        benchmarks = load_benchmarks(recipe.decontaminate)
        references = load_references(recipe)
        result = run_pipeline(
            source.frame, recipe, _has_ratings(source), say, benchmarks=benchmarks, answer_references=references
        )
        say("render")
        split = assign_splits(result.kept, recipe.split.test_size, recipe.split.seed)
        rows = {name: split.eq(name).arg_true() for name in SPLITS}
        say("write")
        counts = _report(source, recipe, result, rows, benchmarks)
        extra = _extra_columns(result)
        kept = result.kept.select(*RENDERED_FROM, *extra).rechunk()  # one chunk: C reads it as is
        dropped = result.dropped
        del source, result  # the normalised keys are not written: free them before the rendered copies are made
        notes = read_user_section(staged.out / "README.md")  # a rebuild keeps the user's notes in the card
        report = staged.write(lambda folder: _fill(folder, kept, rows, recipe, dropped, counts, notes, extra))
    return report


def _extra_columns(result: PipelineResult) -> list[str]:
    """Columns written besides the rendered pair: the answer columns, when the answer checks ran."""
    if "answers" not in result.stats:
        return []
    from curate.steps.answers import written_columns

    return written_columns(result.stats["answers"])


def _inputs(recipe: Recipe) -> list[Path]:
    """The local files and folders the build reads, which `out` must never replace."""
    paths = [recipe.source.path] if recipe.source.path else []
    paths += [spec.path for spec in map(resolve_benchmark, recipe.decontaminate.benchmarks) if spec.path]
    return [Path(path) for path in paths]


def split_rows(kept: pl.DataFrame, recipe: Recipe) -> dict[str, pl.DataFrame]:
    """The rendered train and test rows (whole frames: for tests and small data)."""
    rendered = render(kept, recipe.render)
    split = assign_splits(kept, recipe.split.test_size, recipe.split.seed)
    return {name: rendered.filter(split == name) for name in SPLITS}


def _rendered(render_rows: Renderer, rows: pl.Series) -> Callable[[int, int], pl.DataFrame]:
    """The split's rows `offset` to `offset + length`, rendered (one shard at a time)."""
    return lambda offset, length: render_rows(rows.slice(offset, length))


def _with_columns(render_rows: Renderer, kept: pl.DataFrame, extra: list[str]) -> Renderer:
    """The rendered rows followed by the `extra` columns of `kept` (the answer columns); TRL ignores them."""
    if not extra:
        return render_rows
    columns = kept.select(extra)
    return lambda rows: pl.concat([render_rows(rows), columns.gather(rows)], how="horizontal")


def _has_ratings(source: LoadedSource) -> bool:
    columns = source.info["columns"]
    return bool(columns["chosen_rating"] and columns["rejected_rating"])


def _report(
    source: LoadedSource,
    recipe: Recipe,
    result: PipelineResult,
    split_of: dict[str, pl.Series],
    benchmarks: list[Benchmark],
) -> Report:
    """Everything but the files, which are not written yet."""
    dropped: dict[str, int] = {}
    for step in result.funnel:
        dropped.update(step.dropped)
    return Report.model_validate(
        {
            "curate_version": __version__,
            "source": source.info,
            "recipe": recipe,
            "rows_in": source.frame.height,
            "rows_kept": result.kept.height,
            "rows_dropped": result.dropped.height,
            "dropped": dropped,
            "steps": [asdict(step) for step in result.funnel],
            "splits": {name: len(rows) for name, rows in split_of.items()},
            "near_duplicates": result.stats["near_dedup"],
            "decontamination": contamination_report(benchmarks, result.dropped),
            "lengths": length_report(result.kept, split_of, result.stats["length"]),
            "answers": _answers_report(result),
            "files": {},
        }
    )


def _answers_report(result: PipelineResult) -> dict | None:
    if "answers" not in result.stats:
        return None
    from curate.steps.answers import answers_report

    return answers_report(result.stats["answers"], result.kept)


def _fill(
    folder: Path,
    kept: pl.DataFrame,
    rows: dict[str, pl.Series],
    recipe: Recipe,
    dropped: pl.DataFrame,
    counts: Report,
    notes: str | None,
    extra: list[str],
) -> Report:
    """Write the data files, then the card and report.json, which describe them; return the report."""
    report = counts.model_copy(update={"files": _write_data(folder, kept, rows, recipe, dropped, extra)})
    # The card is not hashed: `curate push` renders it again with the repo id in it.
    (folder / "README.md").write_text(render_card(report, folder, notes=notes), encoding="utf-8")
    write_report(report, folder)
    return report


def _write_data(
    folder: Path,
    kept: pl.DataFrame,
    rows: dict[str, pl.Series],
    recipe: Recipe,
    dropped: pl.DataFrame,
    extra: list[str],
) -> dict[str, FileRecord]:
    """The splits and the dropped rows as parquet shards, with their records, in the order they were written."""
    # Each file is hashed on a second thread as soon as it is written, while the next one is made.
    with ThreadPoolExecutor(max_workers=1) as hasher:
        sizes: dict[str, dict] = {}
        digests: dict[str, Future] = {}

        def written(name: str, part: pl.DataFrame) -> None:
            sizes[name] = shard_sizes(folder / name, part)
            digests[name] = hasher.submit(sha256_file, folder / name)

        render_rows = _with_columns(renderer(kept, recipe.render), kept, extra)
        for name, indices in rows.items():
            if len(indices) or name == "train":
                write_shards(folder, split_prefix(name), len(indices), _rendered(render_rows, indices), written)
        dropped_rows = dropped.rename({"row": "source_row"}).select(*DROPPED_COLUMNS, *extra)
        write_shards(folder, DROPPED_PREFIX, dropped_rows.height, dropped_rows.slice, written)
        return {name: FileRecord(sha256=digests[name].result(), **record) for name, record in sizes.items()}
