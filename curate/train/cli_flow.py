"""What `curate train` shows: the preflight, then the dry-run plan, the job, or the run's final metrics."""

from __future__ import annotations

from typing import Any

from curate.errors import ConfigError
from curate.train.backends import Launched, for_recipe
from curate.train.config import TrainRecipe
from curate.train.launch import build_spec
from curate.train.preflight import PreflightReport, preflight


def parse_sets(pairs: list[str]) -> dict[str, Any]:
    """`--set lora.r=64` pairs; values are read as YAML (numbers, booleans, lists)."""
    parsed = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise ConfigError(f"--set {pair!r}: expected key=value")
        key = key.strip()
        parsed[key] = value if key.endswith("revision") else _yaml_value(pair, value)  # a sha stays text
    return parsed


def _yaml_value(pair: str, value: str) -> Any:
    import yaml

    from curate.config import DuplicateKeyError, load_yaml

    try:
        return load_yaml(value)
    except (yaml.YAMLError, DuplicateKeyError) as err:
        problem = " ".join(str(err).split())
        raise ConfigError(f"--set {pair!r}: the value is not valid YAML ({problem})") from None


def run(recipe: TrainRecipe, out, err, token: str | None, dry_run: bool) -> None:
    from huggingface_hub import get_token

    token = token or get_token()  # reads private data and models too, not only for jobs
    backend = for_recipe(recipe)
    with err.status("checking data, tokenizer and lengths"):
        checked = preflight(recipe, check_machine=not dry_run, token=token)
    err.print(preflight_table(checked))
    spec = build_spec(recipe, checked)
    if dry_run:
        _show_plan(recipe, out, backend.plan(recipe, spec))
    else:
        _show_launched(backend.launch(recipe, spec, token, console=err), out)


def _show_plan(recipe: TrainRecipe, out, plan: str) -> None:
    import yaml

    out.print("[bold]Resolved training recipe[/bold]")
    print(yaml.safe_dump(recipe.dump(), sort_keys=False), end="")
    out.print("[bold]Would run (dry run: nothing started)[/bold]")
    print(plan)


def _show_launched(launched: Launched, out) -> None:
    if launched.metrics is not None:
        out.print(metrics_table(launched.metrics))
    out.print(launched.message)
    if launched.url:
        print(launched.url)


def preflight_table(checked: PreflightReport):
    from rich.table import Table

    table = Table(title="preflight", show_header=False)
    where = checked.data.get("revision") or checked.data.get("report_sha256") or ""
    table.add_row("data", f"{checked.data['path']} {where[:12]}")
    for split, rows in checked.rows.items():
        dropped = checked.too_long.get(split, 0)
        table.add_row(f"{split} pairs", f"{rows:,}" + (f" ({dropped:,} over max_length, dropped)" if dropped else ""))
    table.add_row("max_length", f"{checked.max_length} tokens (longest pair {checked.longest})")
    return table


def metrics_table(final: dict[str, float]):
    from rich.table import Table

    table = Table(title="final evaluation (test split)")
    table.add_column("metric")
    table.add_column("value", justify="right")
    for key in (
        "eval_loss",
        "eval_rewards/accuracies",
        "eval_rewards/margins",
        "eval_rewards/chosen",
        "eval_rewards/rejected",
    ):
        if key in final:
            table.add_row(key, f"{final[key]:.4f}")
    return table
