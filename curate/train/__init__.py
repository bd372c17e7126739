"""`curate train`: DPO on curated splits with TRL, on one GPU, many (accelerate), or Hugging Face Jobs.

config.py is the recipe, preflight.py the checks before any GPU time, launch.py the spec that run.py (the
training entry point) reads, and backends/ the places a run happens, one module each. Nothing here imports
torch or trl at module level.
"""
