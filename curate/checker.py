"""Token audit: tokenize every pair exactly the way TRL's DPOTrainer will (curate/tokens.py) and report what
would go wrong.

Library use: `check(data, tokenizer)` -> CheckReport (`check_splits` for splits already loaded).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from curate.render import ASSISTANT_HEADER, SYSTEM_TURN, USER_TURN
from curate.tokenizer_loading import load_tokenizer
from curate.tokens import EncodedPair, adds_bos, encode_pairs

EXAMPLES_PER_KIND = 5
PROBLEMS = {
    "bos": "prompt+response does not start with exactly one BOS",
    "eos": "a response does not end with exactly one EOS (and nothing but whitespace after it)",
    "prefix": "the prompt's tokens are not a prefix of prompt+response (tokens merge across the boundary)",
    "control_token": "a message's content contains one of the tokenizer's special tokens",
    "too_long": "prompt + longer response exceed max_length tokens",
    "template_mismatch": "the ChatML string differs from what the tokenizer's chat template renders",
}


def _template_pattern(template: str, **groups: str) -> str:
    """A curate.render template as a regex: its text literal, each {field} a named group."""
    pattern = re.escape(template)
    for name, group in groups.items():
        pattern = pattern.replace(re.escape("{" + name + "}"), f"(?P<{name}>{group})")
    return pattern


# A `chatml` prompt (curate.render), parsed back: anything before it, the optional system turn, the user turn.
CHATML_PROMPT = re.compile(
    rf"\A(?P<lead>.*?)(?:{_template_pattern(SYSTEM_TURN, system='.*?')})?"
    rf"{_template_pattern(USER_TURN, prompt='.*?')}{re.escape(ASSISTANT_HEADER)}\Z",
    re.DOTALL,
)


@dataclass
class Finding:
    """One problem kind (a key of PROBLEMS): how many pairs have it, and the first few of them."""

    kind: str
    count: int = 0
    examples: list[str] = field(default_factory=list)  # "split:row", row = source_row when the data has it


@dataclass
class CheckReport:
    """What `curate check` found: `ok` when no pair has a problem; `as_dict()` is the `--json` output."""

    tokenizer: str  # as named: a Hub model id or a local folder
    rows: dict[str, int]  # pairs per split
    max_length: int | None  # the bound `too_long` was checked against (None: not checked)
    findings: dict[str, Finding]  # every kind of PROBLEMS, found or not
    longest: int = 0  # tokens of the longest pair (prompt + longer response)
    lengths: dict[str, list[int]] = field(default_factory=dict)  # per split, prompt + longer response per row

    @property
    def ok(self) -> bool:
        return not any(f.count for f in self.findings.values())

    def as_dict(self) -> dict[str, Any]:
        return {
            "tokenizer": self.tokenizer,
            "rows": self.rows,
            "max_length": self.max_length,
            "longest": self.longest,
            "ok": self.ok,
            "problems": {k: {"count": f.count, "examples": f.examples} for k, f in self.findings.items() if f.count},
        }


def check(
    data: str,
    tokenizer: str,
    *,
    revision: str | None = None,
    max_length: int | None = None,
    token: str | None = None,
) -> CheckReport:
    """`curate check` as a function: the build folder or Hub dataset `data` (at `revision`) audited with
    `tokenizer` (a Hub model id or a local folder). Raises curate.errors' typed errors."""
    from curate.preference_data import load_preference_splits, locate_data

    loaded = load_tokenizer(tokenizer, token=token)  # its short Hub check before the data loads
    located = locate_data(data, revision, token)
    return check_splits(load_preference_splits(located, token), loaded, tokenizer, max_length)


def check_splits(splits: dict[str, Any], tokenizer, name: str, max_length: int | None = None) -> CheckReport:
    """Audit every row of every split (datasets or lists of dicts with prompt/chosen/rejected)."""
    findings = {kind: Finding(kind) for kind in PROBLEMS}
    rows, lengths = {}, {}
    bos = tokenizer.bos_token_id if adds_bos(tokenizer) else None
    for split, data in splits.items():
        records = list(_rows(data))
        rows[split] = len(records)
        encoded = encode_pairs(*([r[k] for r in records] for k in ("prompt", "chosen", "rejected")), tokenizer)
        for index, (row, pair) in enumerate(zip(records, encoded, strict=True)):
            for kind in check_row(row, pair, tokenizer, bos, max_length):
                _record(findings[kind], f"{split}:{row.get('source_row', index)}")
        lengths[split] = [pair.length for pair in encoded]
    longest = max((n for split_lengths in lengths.values() for n in split_lengths), default=0)
    return CheckReport(name, rows, max_length, findings, longest, lengths)


def _rows(data) -> Iterable[dict]:
    return data if isinstance(data, list) else iter(data)


def _record(finding: Finding, row_id: str) -> None:
    finding.count += 1
    if len(finding.examples) < EXAMPLES_PER_KIND:
        finding.examples.append(row_id)


def check_row(row: dict, pair: EncodedPair, tokenizer, bos: int | None, max_length: int | None) -> set[str]:
    """The problem kinds of one pair; `bos` is the id a BOS tokenizer puts first (None for one without)."""
    problems = set()
    if pair.prompt_cut:
        problems.add("prefix")
    for completion in (pair.chosen, pair.rejected):
        if bos is not None and _leading(pair.prompt + completion, bos) != 1:
            problems.add("bos")
        if not _ends_with_one_eos(completion, tokenizer):
            problems.add("eos")
    if any(_has_special(text, tokenizer) for text in contents(row)):
        problems.add("control_token")
    if max_length is not None and pair.length > max_length:
        problems.add("too_long")
    if isinstance(row["prompt"], str) and _template_differs(row, tokenizer):
        problems.add("template_mismatch")
    return problems


def _leading(ids: list[int], token: int) -> int:
    count = 0
    while count < len(ids) and ids[count] == token:
        count += 1
    return count


def _ends_with_one_eos(completion: list[int], tokenizer) -> bool:
    eos = tokenizer.eos_token_id
    if completion.count(eos) != 1:
        return False
    after = completion[completion.index(eos) + 1 :]
    return tokenizer.decode(after).strip() == ""  # a chat template's trailing newline is fine


def contents(row: dict) -> list[str]:
    """The message texts inside a row: message contents, or the parts of a `chatml` rendering."""
    texts = []
    for key in ("prompt", "chosen", "rejected"):
        value = row[key]
        if isinstance(value, list):
            texts += [m["content"] for m in value]
        elif key == "prompt":
            match = CHATML_PROMPT.match(value)
            texts += [match["system"] or "", match["prompt"]] if match else [value]
        else:
            texts.append(_response_content(value))
    return texts


def _response_content(text: str) -> str:
    """A `chatml` response without its closing `<|im_end|>` (and what whitespace follows it)."""
    return re.sub(r"<\|im_end\|>\s*\Z", "", text)


def _has_special(text: str, tokenizer) -> bool:
    return any(token and token in text for token in _special_tokens(tokenizer))


def _special_tokens(tokenizer) -> list[str]:
    added = [t.content for t in tokenizer.added_tokens_decoder.values() if t.special]
    return sorted({*tokenizer.all_special_tokens, *added})


def _template_differs(row: dict, tokenizer) -> bool:
    """A `chatml` row against the tokenizer's template: the prompt must match exactly; prompt + response may
    lack only the template's newline after the final `<|im_end|>` (curate ends responses at the EOS)."""
    if not getattr(tokenizer, "chat_template", None):
        return False
    match = CHATML_PROMPT.match(row["prompt"])
    if match is None or match["lead"]:
        return True
    messages = [*([{"role": "system", "content": match["system"]}] if match["system"] is not None else [])]
    messages.append({"role": "user", "content": match["prompt"]})
    rendered_prompt = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    if rendered_prompt != row["prompt"]:
        return True
    for response in (row["chosen"], row["rejected"]):
        turn = [*messages, {"role": "assistant", "content": _response_content(response)}]
        rendered = tokenizer.apply_chat_template(turn, tokenize=False)
        if rendered not in (row["prompt"] + response, row["prompt"] + response + "\n"):
            return True
    return False
