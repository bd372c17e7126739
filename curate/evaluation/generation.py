"""Greedy, zero-shot answers with the model's own chat template: transformers batched generation, left padding."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from curate.errors import InputError

# One fixed instruction after every question: the answer on its own line in GSM8K's form, which lm-eval's
# strict-match reads and curate.answers.final_answer reads first (`\boxed{}` would be too, if a model prefers it).
INSTRUCTION = "Solve the problem step by step. Then write the final answer alone on the last line as: #### <answer>"


@dataclass(frozen=True)
class Generation:
    text: str  # the decoded answer, special tokens removed
    new_tokens: int  # generated tokens up to and including the end-of-turn token
    truncated: bool  # hit max_new_tokens before the end-of-turn token


def build_prompts(tokenizer, questions: list[str]) -> list[str]:
    """Each question as one user turn, rendered by the tokenizer's chat template with the assistant's opening."""
    if not getattr(tokenizer, "chat_template", None):
        raise InputError(
            "the model's tokenizer has no chat template; curate eval prompts with the model's own template",
            hint="Evaluate an instruct/chat model, or save a tokenizer with a `chat_template` next to the weights.",
        )
    return [
        tokenizer.apply_chat_template(
            [{"role": "user", "content": f"{question}\n\n{INSTRUCTION}"}], tokenize=False, add_generation_prompt=True
        )
        for question in questions
    ]


def stop_token_ids(model, tokenizer) -> list[int]:
    """The tokenizer's EOS and every EOS the model's generation config names (an instruct model's end of turn)."""
    ids = {tokenizer.eos_token_id}
    configured = getattr(model.generation_config, "eos_token_id", None)
    ids |= set(configured) if isinstance(configured, list) else {configured}
    return sorted(i for i in ids if i is not None)


def generate(
    model,
    tokenizer,
    prompts: list[str],
    *,
    batch_size: int,
    max_new_tokens: int,
    advance: Callable[[int, int], None] = lambda _items, _tokens: None,
) -> list[Generation]:
    """Greedy answers to `prompts`, in their order. Prompts are batched longest first (less padding); `advance` is
    told the items and new tokens of each finished batch. The chat template already holds any BOS the model wants,
    so the tokenizer adds no special tokens of its own."""
    import torch

    tokenizer.padding_side = "left"
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    stops = stop_token_ids(model, tokenizer)
    lengths = [len(ids) for ids in tokenizer(prompts, add_special_tokens=False)["input_ids"]]
    order = sorted(range(len(prompts)), key=lambda i: (-lengths[i], i))
    results: list[Generation | None] = [None] * len(prompts)
    device = next(model.parameters()).device
    for start in range(0, len(order), batch_size):
        batch = order[start : start + batch_size]
        encoded = tokenizer(
            [prompts[i] for i in batch], return_tensors="pt", padding=True, add_special_tokens=False
        ).to(device)
        with torch.inference_mode():
            output = model.generate(
                **encoded,
                do_sample=False,
                max_new_tokens=max_new_tokens,
                eos_token_id=stops,
                pad_token_id=pad_id,
                temperature=None,
                top_p=None,
                top_k=None,
            )
        new = output[:, encoded["input_ids"].shape[1] :].tolist()
        done = [_decoded(tokenizer, ids, set(stops), max_new_tokens) for ids in new]
        for i, generation in zip(batch, done, strict=True):
            results[i] = generation
        advance(len(batch), sum(g.new_tokens for g in done))
    return results  # type: ignore[return-value]


def _decoded(tokenizer, ids: list[int], stops: set[int], max_new_tokens: int) -> Generation:
    end = next((k for k, token in enumerate(ids) if token in stops), None)
    kept = ids if end is None else ids[: end + 1]
    text = tokenizer.decode(kept, skip_special_tokens=True).strip()
    return Generation(text=text, new_tokens=len(kept), truncated=end is None and len(ids) >= max_new_tokens)
