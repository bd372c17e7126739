"""rich progress for a training run in this process (a transformers TrainerCallback)."""

from __future__ import annotations

from typing import Any


def rich_progress(console: Any):
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
    from transformers import TrainerCallback

    class RichProgress(TrainerCallback):
        def __init__(self) -> None:
            self.bar = Progress(
                TextColumn("training"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                TextColumn("{task.fields[metrics]}"), console=console,
            )  # fmt: skip
            self.task = None

        def on_train_begin(self, args, state, control, **kwargs):
            self.bar.start()
            self.task = self.bar.add_task("train", total=state.max_steps, metrics="")

        def on_step_end(self, args, state, control, **kwargs):
            self.bar.update(self.task, completed=state.global_step)

        def on_log(self, args, state, control, logs=None, **kwargs):
            if self.task is not None and logs and "loss" in logs:
                shown = {k: logs[k] for k in ("loss", "rewards/accuracies", "rewards/margins") if k in logs}
                self.bar.update(self.task, metrics="  ".join(f"{k} {v:.3f}" for k, v in shown.items()))

        def on_train_end(self, args, state, control, **kwargs):
            self.bar.stop()

    return RichProgress()
