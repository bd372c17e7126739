"""curate: turn raw preference data into clean, DPO-ready datasets."""

__version__ = "0.1.0"
