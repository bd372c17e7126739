"""Preference pairs as token ids, made exactly as TRL's DPOTrainer makes them (trl 1.16 `_prepare_dataset`).

- String rows: a response gets the tokenizer's EOS appended unless it already ends with it (TRL's `add_eos`),
  then the prompt and prompt + response each go through the tokenizer with its own special tokens (a BOS
  tokenizer puts its BOS in front of both).
- Message lists: the prompt through the chat template with the generation prompt, prompt + response without.
- Either way the completion starts where the prompt's tokens and prompt + response's tokens diverge, for the
  chosen and the rejected response alike (TRL's `common_prefix_length`): when tokens merge across the
  boundary, or a template renders the prompt alone differently, the prompt's diverging tail is left out.

`curate check`, the build's length step and training all use this module, so the three agree with the
trainer (tests/test_tokens.py holds it to TRL itself). It imports nothing from curate and nothing heavy: a
Hugging Face Job, where curate is not installed, gets this file's source shipped beside run.py
(curate/train/job_script.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass
class EncodedPair:
    """One pair as TRL trains on it: `prompt + chosen` and `prompt + rejected` are the two sequences."""

    prompt: list[int]
    chosen: list[int]  # the chosen completion's ids, after the prompt
    rejected: list[int]
    prompt_cut: int = 0  # tokens of the prompt alone that TRL leaves out (0: the prompt is a clean prefix)

    @property
    def length(self) -> int:
        """Tokens of the prompt + the longer response: what max_length bounds."""
        return len(self.prompt) + max(len(self.chosen), len(self.rejected))


def encode_pairs(prompts: list, chosen: list, rejected: list, tokenizer: Any) -> list[EncodedPair]:
    """Every row's pair (see the module doc); strings are tokenized in batches."""
    if prompts and isinstance(prompts[0], list):
        triples = [_template_ids(p, c, r, tokenizer) for p, c, r in zip(prompts, chosen, rejected, strict=True)]
    else:
        eos = tokenizer.eos_token or ""
        ids = lambda texts: [list(x) for x in tokenizer(list(texts))["input_ids"]] if texts else []  # noqa: E731
        with_chosen = [p + with_eos(c, eos) for p, c in zip(prompts, chosen, strict=True)]
        with_rejected = [p + with_eos(r, eos) for p, r in zip(prompts, rejected, strict=True)]
        triples = zip(ids(prompts), ids(with_chosen), ids(with_rejected), strict=True)
    return [split_pair(*triple) for triple in triples]


def encode_pair(row: dict, tokenizer: Any) -> EncodedPair:
    """One row (a dict with prompt, chosen and rejected)."""
    return encode_pairs([row["prompt"]], [row["chosen"]], [row["rejected"]], tokenizer)[0]


def pair_lengths(rows: Any, tokenizer: Any) -> list[int]:
    """Tokens of prompt + the longer response per row (rows: a dataset or a dict of columns)."""
    return [pair.length for pair in encode_pairs(rows["prompt"], rows["chosen"], rows["rejected"], tokenizer)]


def with_eos(text: str, eos: str) -> str:
    """TRL's `add_eos` for string rows: the EOS once at the end, never a second one."""
    return text if text.endswith(eos) else text + eos


def split_pair(prompt: list[int], with_chosen: list[int], with_rejected: list[int]) -> EncodedPair:
    """Where TRL splits prompt + response: after the tokens all three sequences share."""
    shared = min(common_prefix_length(prompt, with_chosen), common_prefix_length(prompt, with_rejected))
    return EncodedPair(prompt[:shared], with_chosen[shared:], with_rejected[shared:], len(prompt) - shared)


def common_prefix_length(ids: list[int], other: list[int]) -> int:
    length = 0
    for token, other_token in zip(ids, other, strict=False):
        if token != other_token:
            break
        length += 1
    return length


def adds_bos(tokenizer: Any) -> bool:
    """Whether the tokenizer puts a BOS in front of every text (Mistral/OpenHermes do; TRL relies on it)."""
    bos = tokenizer.bos_token_id
    return bos is not None and tokenizer(text="a")["input_ids"][:1] == [bos]


def _template_ids(prompt: list, chosen: list, rejected: list, tokenizer: Any) -> tuple[list, list, list]:
    template = lambda messages, **kw: _ids(tokenizer.apply_chat_template(messages, tokenize=True, **kw))  # noqa: E731
    return template(prompt, add_generation_prompt=True), template(prompt + chosen), template(prompt + rejected)


def _ids(encoded: Any) -> list[int]:
    """apply_chat_template's ids: a BatchEncoding in transformers 5, a list before."""
    return list(encoded["input_ids"]) if hasattr(encoded, "keys") else list(encoded)
