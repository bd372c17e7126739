"""`curate train`: DPO on curated splits with TRL, on one GPU, many (accelerate), or Hugging Face Jobs.

Nothing here imports torch or trl at module level; `run.py` is the training entry point and is
self-contained (it imports no curate module) so the same file runs locally, under `accelerate launch`
and inside a Hugging Face Job.
"""
