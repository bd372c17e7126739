"""Time `curate build` against the usual `datasets` script and a floor, on the same generated rows.

    python benchmarks/bench_build.py [--rows 100000] [--seed 0] [--repeat 3] [--no-baseline | --baseline-only]

The generated rows carry every defect, reworded near-duplicate prompts and planted items of a
2,000-item benchmark file, which both builds decontaminate against. The floor is polars reading the
input parquet and writing it back (zstd), the least any build must do. All run as subprocesses, so
wall time and peak RSS include interpreter start-up and imports for each alike; each runs `--repeat`
times and its fastest run is reported (all are printed). Exits 1 when curate
and the baseline disagree on kept rows or on any per-reason drop count (near-duplicate prompts may
differ by 0.5%: each side's MinHash proposes candidates with its own hash functions).

curate is timed three ways: on the accelerated path (the C loops, `CURATE_PURE=0`), on the pure path
(numpy and polars only, `CURATE_PURE=1`; its output folder must be byte-identical to the accelerated one,
else exit 1) and on the same rows written as JSONL (accelerated).

Targets (issues): at 100k rows, curate at least 15x faster than the baseline and within 2.5x of the
floor, the pure path at most 4x the accelerated one, the JSONL source within 1.5x of the parquet one; at
1M rows (--no-baseline: the baseline takes about 20 minutes), peak RSS under 3 GiB and within 3x of the
floor.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import polars as pl
from rich.console import Console
from rich.table import Table

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import generate  # noqa: E402  (plain module next door, see its docstring)

console = Console()


@dataclass
class Run:
    name: str
    seconds: float
    peak_rss_mib: float
    result: dict


def find_curate() -> str:
    """The venv's `curate` console script (next to this Python), else one on PATH."""
    beside = Path(sys.executable).parent / "curate"
    found = str(beside) if beside.exists() else shutil.which("curate")
    if found is None:
        raise SystemExit(
            f"error: no `curate` command next to {sys.executable} or on PATH.\n"
            "hint: install the package (`pip install -e .`), or pass --baseline-only."
        )
    return found


def measure(name: str, command: list[str], env: dict[str, str] | None = None) -> Run:
    """Run command, parse the JSON it prints, and record its wall time and peak RSS."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(command, stdout=out, stderr=err, env={**os.environ, **(env or {})})
        # wait4 gives this one child's rusage; RUSAGE_CHILDREN would report the max over all
        # children so far, so a smaller second run would inherit the first one's peak.
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read().decode(), err.read().decode()
    if proc.returncode != 0:
        raise SystemExit(f"error: {name} exited {proc.returncode}\n{' '.join(command)}\n{stderr[-3000:]}")
    try:
        result = json.loads(stdout)
    except json.JSONDecodeError:
        raise SystemExit(f"error: {name} did not print JSON on stdout:\n{stdout[:1000]}") from None
    return Run(name, seconds, usage.ru_maxrss / 1024, result)  # ru_maxrss is KiB on Linux


def fastest(name: str, command: list[str], repeat: int, env: dict[str, str] | None = None) -> Run:
    """The fastest of `repeat` runs (each side alike): the machine's other work only ever adds time. All times
    are printed."""
    runs = [measure(name, command, env) for _ in range(max(repeat, 1))]
    console.print(f"{name}: {', '.join(f'{run.seconds:.2f}' for run in runs)} s")
    return min(runs, key=lambda run: run.seconds)


FLOOR = "import sys, polars as pl; pl.read_parquet(sys.argv[1]).write_parquet(sys.argv[2]); print('{}')"
NEAR_TOLERANCE = 0.005


def nonzero(dropped: dict) -> dict:
    """Either side may list reasons with zero drops; only the non-zero counts must agree."""
    return {reason: count for reason, count in dropped.items() if count}


def mismatches(runs: list[Run], rows: int) -> list[str]:
    curate, baseline = (run.result for run in runs)
    a, b = nonzero(curate["dropped"]), nonzero(baseline["dropped"])
    near_a, near_b = a.pop("near_duplicate_prompt", 0), b.pop("near_duplicate_prompt", 0)
    if abs(near_a - near_b) <= NEAR_TOLERANCE * max(near_a, near_b):  # LSH luck: compare the rest exactly
        curate = {**curate, "dropped": a, "rows_kept": curate["rows_kept"] + near_a}
        baseline = {**baseline, "dropped": b, "rows_kept": baseline["rows_kept"] + near_b}
    runs = [Run(r.name, r.seconds, r.peak_rss_mib, res) for r, res in zip(runs, (curate, baseline), strict=True)]
    problems = [
        f"{run.name} read {run.result['rows_in']:,} rows, not {rows:,}" for run in runs if run.result["rows_in"] != rows
    ]
    if curate["rows_kept"] != baseline["rows_kept"]:
        problems.append(f"kept {curate['rows_kept']:,} (curate) vs {baseline['rows_kept']:,} (baseline)")
    a, b = nonzero(curate["dropped"]), nonzero(baseline["dropped"])
    problems += [
        f"{reason}: {a.get(reason, 0):,} (curate) vs {b.get(reason, 0):,} (baseline)"
        for reason in sorted(a.keys() | b.keys())
        if a.get(reason, 0) != b.get(reason, 0)
    ]
    return problems


def timing_table(runs: list[Run], rows: int) -> Table:
    table = Table(title=f"build on {rows:,} generated rows")
    table.add_column("")
    for run in runs:
        table.add_column(run.name, justify="right")
    cells = {
        "wall time (s)": lambda r: f"{r.seconds:.1f}",
        "peak RSS (MiB)": lambda r: f"{r.peak_rss_mib:,.0f}",
        "rows kept": lambda r: f"{r.result['rows_kept']:,}",
        "splits": lambda r: ", ".join(f"{k} {v:,}" for k, v in r.result["splits"].items()),
    }
    for label, cell in cells.items():
        table.add_row(label, *(cell(run) for run in runs))
    return table


def drops_table(runs: list[Run]) -> Table:
    table = Table(title="rows dropped per reason")
    table.add_column("reason")
    for run in runs:
        table.add_column(run.name, justify="right")
    if len(runs) == 2:
        table.add_column("same")
    counts = [nonzero(run.result["dropped"]) for run in runs]
    reasons = list(dict.fromkeys(reason for c in reversed(counts) for reason in c))
    for reason in reasons:
        values = [c.get(reason, 0) for c in counts]
        same = ["[green]yes[/]" if len(set(values)) == 1 else "[bold red]NO[/]"] if len(runs) == 2 else []
        table.add_row(reason, *(f"{v:,}" for v in values), *same)
    return table


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000, help="rows to generate")
    parser.add_argument("--seed", type=int, default=0, help="generator seed")
    parser.add_argument("--baseline-only", action="store_true", help="skip curate (not built yet)")
    parser.add_argument("--no-baseline", action="store_true", help="skip the datasets baseline (slow at 1M rows)")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each command; the fastest is reported")
    args = parser.parse_args(argv)
    curate = None if args.baseline_only else find_curate()  # fail before the slow part

    with tempfile.TemporaryDirectory(prefix="bench-build-") as tmp:
        source, benchmark = Path(tmp) / "rows.parquet", Path(tmp) / "benchmark.jsonl"
        with console.status(f"generating {args.rows:,} rows"):
            start = time.perf_counter()
            generate.write(args.rows, source, args.seed)
            generate.write_benchmark(benchmark)
        os.sync()  # the generated files reach the disk now, not while a timed command runs
        size = source.stat().st_size / 2**20
        console.print(
            f"generated {args.rows:,} rows ({size:,.0f} MiB of parquet) in {time.perf_counter() - start:.1f} s"
        )
        runs, others = [], {}
        if curate:
            command = [curate, "build", "--source", str(source), "--decontaminate", str(benchmark)]
            with console.status("running curate build"):
                accelerated = {"CURATE_PURE": "0"}
                runs.append(
                    fastest("curate build", [*command, "--out", f"{tmp}/curate", "--json"], args.repeat, accelerated)
                )
            with console.status("running curate build on the pure path"):
                pure = [*command, "--out", f"{tmp}/pure", "--json"]
                others["pure"] = fastest("curate build (pure)", pure, args.repeat, {"CURATE_PURE": "1"})
            jsonl = Path(tmp) / "rows.jsonl"
            pl.read_parquet(source).write_ndjson(jsonl)
            command[command.index(str(source))] = str(jsonl)
            with console.status("running curate build on a JSONL source"):
                on_jsonl = [*command, "--out", f"{tmp}/jsonl", "--json"]
                others["jsonl"] = fastest("curate build (JSONL source)", on_jsonl, args.repeat, accelerated)
            identical = same_files(Path(tmp) / "curate", Path(tmp) / "pure")
        if not args.no_baseline:
            script = [sys.executable, str(HERE / "baseline_datasets.py"), str(source), f"{tmp}/baseline"]
            script += ["--benchmark", str(benchmark), "--json"]
            with console.status("running the datasets baseline"):
                runs.append(fastest("datasets baseline", script, args.repeat))
        with console.status("running the floor (polars read + write)"):
            floor = fastest("floor", [sys.executable, "-c", FLOOR, str(source), f"{tmp}/floor.parquet"], args.repeat)
    if curate:
        paths_report(runs[0], others, floor, identical)
    report(runs, args.rows, floor)


def same_files(a: Path, b: Path) -> bool:
    """Whether two folders hold the same files with the same bytes."""
    files = sorted(p.relative_to(a) for p in a.rglob("*") if p.is_file())
    others = sorted(p.relative_to(b) for p in b.rglob("*") if p.is_file())
    return files == others and all((a / f).read_bytes() == (b / f).read_bytes() for f in files)


def paths_report(accelerated: Run, others: dict[str, Run], floor: Run, identical: bool) -> None:
    """The accelerated, pure and JSONL-source builds side by side, with the ratios the targets bound."""
    table = Table(title="curate build: accelerated path, pure path, JSONL source")
    for column in ["", "wall time (s)", "peak RSS (MiB)", "ratio", "target"]:
        table.add_column(column, justify="right" if column else "left")
    table.add_row("floor (polars read + write)", f"{floor.seconds:.2f}", f"{floor.peak_rss_mib:,.0f}", "", "")
    ratio = accelerated.seconds / floor.seconds
    rows = [("accelerated / floor", accelerated, ratio, 2.5)]
    rows.append(("pure / accelerated", others["pure"], others["pure"].seconds / accelerated.seconds, 4.0))
    rows.append(("JSONL / parquet source", others["jsonl"], others["jsonl"].seconds / accelerated.seconds, 1.5))
    for label, run, ratio, target in rows:
        mark = "[green]" if ratio <= target else "[bold red]"
        table.add_row(label, f"{run.seconds:.2f}", f"{run.peak_rss_mib:,.0f}", f"{mark}{ratio:.2f}x[/]", f"{target}x")
    console.print(table)
    if not identical:
        console.print("[bold red]MISMATCH: the pure path's folder differs from the accelerated one[/]")
        raise SystemExit(1)
    console.print("[green]the pure path wrote a folder byte-identical to the accelerated path's[/]")


def report(runs: list[Run], rows: int, floor: Run) -> None:
    console.print(timing_table(runs, rows))
    console.print(drops_table(runs))
    console.print(f"floor (polars read + write): {floor.seconds:.2f} s, peak RSS {floor.peak_rss_mib:,.0f} MiB")
    for run in runs:
        console.print(f"{run.name} / floor wall time: [bold]{run.seconds / floor.seconds:.1f}x[/]")
    curate = next((run for run in runs if run.name == "curate build"), None)
    if curate:
        near = curate.result.get("near_duplicates", {})
        console.print(
            f"curate peak RSS: [bold]{curate.peak_rss_mib / 1024:.2f} GiB[/]; near-duplicate clusters: {near}"
        )
    if len(runs) < 2:
        return
    curate, baseline = runs
    console.print(f"baseline / curate wall time: [bold]{baseline.seconds / curate.seconds:.1f}x[/]")
    if curate.result["splits"] != baseline.result["splits"]:
        console.print("note: split sizes differ (each side assigns the test split its own way)")
    problems = mismatches(runs, rows)
    if problems:
        console.print("[bold red]MISMATCH: curate and the baseline disagree[/]")
        for problem in problems:
            console.print(f"[red]  {problem}[/]")
        raise SystemExit(1)
    console.print(
        "[green]curate and the baseline kept the same number of rows and dropped the same counts per reason[/]"
    )


if __name__ == "__main__":
    main()
