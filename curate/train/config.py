"""The training recipe: one validated model, loaded from YAML, overridden by flags."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from curate.config import NO_BOOL, describe_validation_error, read_recipe_yaml, set_dotted
from curate.errors import ConfigError
from curate.train import backends

DEFAULT_TRAIN_RECIPE = Path(__file__).resolve().parent.parent / "recipes" / "train-openhermes-dpo.yaml"


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class LoraSettings(_Section):
    r: Annotated[int, NO_BOOL] = Field(
        16, gt=0, description="LoRA rank (alignment-handbook's DPO QLoRA recipe uses 128; 16 halves memory)."
    )
    alpha: Annotated[int, NO_BOOL] = Field(32, gt=0, description="LoRA alpha, 2 x r as in PEFT's examples.")
    dropout: Annotated[float, NO_BOOL] = Field(0.05, ge=0, lt=1, description="LoRA dropout (alignment-handbook: 0.05).")
    target_modules: str | list[str] = Field("all-linear", description="Modules to adapt; PEFT's `all-linear`.")


class JobSettings(_Section):
    flavor: str = Field("a100-large", description="Hugging Face Jobs hardware (a100-large: one 80 GB A100).")
    timeout: str = Field("6h", description="Job timeout (s, m, h or d suffix).")
    push_to: str | None = Field(None, description="Hub model repo the job pushes the result to.")
    namespace: str | None = Field(None, description="User or org that runs the job (default: the token's user).")


class TrainRecipe(_Section):
    """Every setting of `curate train`."""

    # A revision like 0123456 reads as a number in YAML; it is still a revision.
    model_config = ConfigDict(extra="forbid", coerce_numbers_to_str=True)

    model: str = Field("teknium/OpenHermes-2.5-Mistral-7B", description="Base model: Hub id or local folder.")
    model_revision: str = Field("main", description="Revision of a Hub model.")
    data: str = Field("curated", description="A `curate build` folder or a Hub dataset repo with train/test splits.")
    data_revision: str | None = Field(None, description="Revision of a Hub dataset (resolved to a sha at launch).")
    output_dir: str = Field("dpo-output", description="Where the adapter or weights, metrics and card are written.")
    method: Literal["lora", "full", "qlora"] = Field(
        "lora",
        description="lora: adapters on all linear layers (fits a 7B model on one 80 GB GPU); full: all weights "
        "(needs ZeRO-3/FSDP on several GPUs for 7B); qlora: 4-bit base model (bitsandbytes) for small GPUs.",
    )
    lora: LoraSettings = LoraSettings()
    beta: Annotated[float, NO_BOOL] = Field(0.1, gt=0, description="DPO beta: TRL's default and the DPO paper's value.")
    loss_type: str = Field("sigmoid", description="TRL loss_type: sigmoid (the DPO loss), ipo, robust, ...")
    learning_rate: Annotated[float, NO_BOOL] = Field(
        5e-6, gt=0, description="5e-6 for LoRA (alignment-handbook's DPO QLoRA recipe); use ~5e-7 for full."
    )
    num_train_epochs: Annotated[float, NO_BOOL] = Field(
        1, gt=0, description="Epochs (alignment-handbook DPO recipes: 1)."
    )
    max_steps: Annotated[int, NO_BOOL] = Field(-1, description="Stop after this many steps; -1 = run the epochs.")
    per_device_train_batch_size: Annotated[int, NO_BOOL] = Field(4, gt=0, description="Pairs per GPU per step.")
    gradient_accumulation_steps: Annotated[int, NO_BOOL] = Field(
        4, gt=0, description="Steps per update: effective batch 16 on one GPU."
    )
    warmup_ratio: Annotated[float, NO_BOOL] = Field(
        0.1, ge=0, lt=1, description="Linear warm-up share (alignment-handbook: 0.1)."
    )
    lr_scheduler_type: str = Field("cosine", description="Schedule after warm-up (alignment-handbook: cosine).")
    max_length: Annotated[int | None, NO_BOOL] = Field(
        None,
        gt=0,
        description="Longest prompt+response in tokens. null = sized from the data: the longest pair rounded up "
        "to a multiple of 64, at most `max_length_cap`.",
    )
    max_length_cap: Annotated[int, NO_BOOL] = Field(2048, gt=0, description="Upper bound of the data-sized max_length.")
    drop_long: bool = Field(
        False, description="Drop pairs longer than max_length before training; otherwise the run stops."
    )
    bf16: bool = Field(True, description="bf16 weights and compute on GPU (ignored on CPU).")
    gradient_checkpointing: bool = Field(True, description="Trade compute for memory on GPU (off on CPU).")
    logging_steps: Annotated[int, NO_BOOL] = Field(10, gt=0, description="Log loss and rewards every N steps.")
    seed: Annotated[int, NO_BOOL] = Field(42, description="Training seed.")
    backend: str = Field(
        "local",
        description=f"Where the run happens: {' | '.join(backends.names())} (curate/train/backends/); local with "
        "several GPUs or machines runs through accelerate.",
    )
    device: Literal["cuda", "cpu"] = Field("cuda", description="cpu is for smoke runs of tiny models.")
    gpus: Annotated[int, NO_BOOL] = Field(
        1, gt=0, description="GPUs per machine; more than one launches through accelerate."
    )
    num_machines: Annotated[int, NO_BOOL] = Field(1, gt=0, description="Machines (nodes) in a multi-node run.")
    machine_rank: Annotated[int, NO_BOOL] = Field(0, ge=0, description="This machine's rank in a multi-node run.")
    main_ip: str | None = Field(None, description="Address of rank 0 in a multi-node run.")
    main_port: Annotated[int, NO_BOOL] = Field(29500, description="Port of rank 0 in a multi-node run.")
    distributed: Literal["zero3", "fsdp"] = Field("zero3", description="Multi-GPU strategy: DeepSpeed ZeRO-3 or FSDP.")
    torch_threads: Annotated[int | None, NO_BOOL] = Field(None, gt=0, description="torch CPU threads (tests set 1).")
    hf_jobs: JobSettings = JobSettings()

    @field_validator("backend")
    @classmethod
    def _registered_backend(cls, name: str) -> str:
        backends.get(name)  # the registry is the list of choices: a backend a test registers is one too
        return name

    def dump(self) -> dict[str, Any]:
        return self.model_dump(mode="json")


def load_train_recipe(path: str | Path | None = None, overrides: dict[str, Any] | None = None) -> TrainRecipe:
    data = read_recipe_yaml(Path(path) if path else DEFAULT_TRAIN_RECIPE)
    for dotted, value in (overrides or {}).items():
        set_dotted(data, dotted, value)
    try:
        recipe = TrainRecipe.model_validate(data)
    except ValidationError as err:
        raise ConfigError(
            describe_validation_error(err, path), hint="See the documented default: `curate train --show-recipe`."
        ) from None
    _check_topology(recipe)
    backends.for_recipe(recipe).validate(recipe)
    return recipe


def _check_topology(recipe: TrainRecipe) -> None:
    """Checks every backend shares; a backend's own are its `validate`."""
    if recipe.num_machines > 1 and not recipe.main_ip:
        raise ConfigError("a multi-node run needs --main-ip (the address of machine rank 0)")
    if recipe.machine_rank >= recipe.num_machines:
        raise ConfigError(f"--machine-rank {recipe.machine_rank} must be below --num-machines {recipe.num_machines}")
    if recipe.method == "qlora" and (recipe.gpus > 1 or recipe.num_machines > 1):
        raise ConfigError("qlora runs on one GPU; use lora or full with several GPUs")
    if recipe.device == "cpu" and (recipe.gpus > 1 or recipe.method == "qlora"):
        raise ConfigError("--device cpu runs one process without quantization (a smoke run)")
