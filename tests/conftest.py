"""Shared helpers: tiny source rows in the distilabel schema, written where a test wants them."""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path

import pytest

# Tests never reach the network: the Hub clients get a temp home and no telemetry or update checks.
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
os.environ.setdefault("HF_HUB_DISABLE_UPDATE_CHECK", "1")

REPO = Path(__file__).resolve().parent.parent
SAMPLE = REPO / "data" / "distilabel-math-sample.jsonl"


def pair(
    instruction="What is 2 + 3?",
    chosen="2 + 3 = 5.",
    rejected="2 + 3 = 6.",
    chosen_rating=9.0,
    rejected_rating=4.0,
    **extra,
):
    """One source row; every field can be overridden."""
    return {
        "instruction": instruction,
        "chosen_response": chosen,
        "chosen_rating": chosen_rating,
        "rejected_response": rejected,
        "rejected_rating": rejected_rating,
        "metadata": "{}",
        **extra,
    }


def distinct_pairs(n: int) -> list[dict]:
    return [pair(f"What is {i} + {i}?", f"{i} + {i} = {2 * i}.", f"{i} + {i} = {2 * i + 1}.") for i in range(n)]


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


def closed_endpoint() -> str:
    """A loopback URL nothing listens on: connections are refused at once, like an unreachable Hub."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{probe.getsockname()[1]}"


@pytest.fixture(autouse=True)
def _hf_home(tmp_path_factory, monkeypatch):
    monkeypatch.setenv("HF_HOME", str(tmp_path_factory.mktemp("hf_home")))


BENCHMARK_SAMPLE = REPO / "data" / "benchmark-sample.jsonl"


@pytest.fixture(autouse=True, scope="session")
def _offline_builtin_benchmarks():
    """Tests never reach the Hub: in-process builds read the built-in gsm8k and math500 from the shipped
    benchmark-like sample (our own items, not GSM8K or MATH). Session-wide, so module fixtures that build
    get it too. Real Hub loading is tested against the fake Hub, in a subprocess."""
    from curate import eval_sets

    local = {name: eval_sets.BenchmarkSpec(name=name, path=str(BENCHMARK_SAMPLE)) for name in eval_sets.BUILTIN}
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(eval_sets, "BUILTIN", local)
        yield


@pytest.fixture(scope="session")
def curated(tmp_path_factory) -> Path:
    """The shipped sample built with the default recipe (read-only for the tests that use it)."""
    from curate.builder import build
    from curate.config import load_recipe

    out = tmp_path_factory.mktemp("data") / "curated"
    build(load_recipe(overrides={"source.path": str(SAMPLE)}), out)
    return out


@pytest.fixture(scope="session")
def tiny(tmp_path_factory) -> Path:
    """A tiny ChatML model and tokenizer trained on the sample's text (tests/tiny_model.py)."""
    from tiny_model import build_model, build_tokenizer, corpus

    return build_model(build_tokenizer(corpus(SAMPLE)), tmp_path_factory.mktemp("tiny") / "model")
