"""What every backend launches: run.py with a spec (the resolved recipe, the data, the checked max_length).

The backends themselves (in this process, `accelerate launch`, Hugging Face Jobs) are in curate/train/backends/.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from curate import __version__

if TYPE_CHECKING:
    from curate.train.config import TrainRecipe
    from curate.train.preflight import PreflightReport

RUN_SCRIPT = Path(__file__).resolve().parent / "run.py"
SPEC_FILE = "curate_train_spec.json"


def build_spec(recipe: TrainRecipe, checked: PreflightReport) -> dict[str, Any]:
    """Everything run.py needs, as JSON: it imports no curate code beyond the modules a job ships with it."""
    from curate.train.backends import for_recipe

    return {
        "curate_version": __version__,
        "recipe": recipe.dump(),
        "data": checked.data,
        "max_length": checked.max_length,
        "push_to": for_recipe(recipe).pushes_to(recipe),  # where run.py pushes the result; None: it stays on disk
    }


def spec_location(recipe: TrainRecipe) -> str:
    """Where `write_spec` puts the spec, as a dry run shows it (nothing is written)."""
    return f"{recipe.output_dir}/{SPEC_FILE}"


def write_spec(spec: dict[str, Any]) -> Path:
    folder = Path(spec["recipe"]["output_dir"])
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / SPEC_FILE
    path.write_text(json.dumps(spec, indent=2) + "\n", encoding="utf-8")
    return path
