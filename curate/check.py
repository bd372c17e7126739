"""Token audit: tokenize every pair exactly the way TRL's DPOTrainer will and report what would go wrong.

String rows go through the tokenizer with its own special-token handling and TRL's EOS rule (append EOS to
a response unless it already ends with it); message lists go through the tokenizer's chat template.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from curate.train.run import encode_pairs

EXAMPLES_PER_KIND = 5
PROBLEMS = {
    "bos": "prompt+response does not start with exactly one BOS",
    "eos": "a response does not end with exactly one EOS (and nothing but whitespace after it)",
    "prefix": "the prompt's tokens are not a prefix of prompt+response (tokens merge across the boundary)",
    "control_token": "a message's content contains one of the tokenizer's special tokens",
    "too_long": "prompt + longer response exceed max_length tokens",
    "template_mismatch": "the ChatML string differs from what the tokenizer's chat template renders",
}
# The `chatml` rendering of curate build: optional system turn, the user turn, then the assistant header.
CHATML_PROMPT = re.compile(
    r"\A(?P<lead>.*?)(?:<\|im_start\|>system\n(?P<system>.*?)<\|im_end\|>\n)?"
    r"<\|im_start\|>user\n(?P<user>.*?)<\|im_end\|>\n<\|im_start\|>assistant\n\Z",
    re.DOTALL,
)


@dataclass
class EncodedPair:
    prompt: list[int]
    chosen: list[int]  # prompt + chosen
    rejected: list[int]  # prompt + rejected


def encode_pair(row: dict, tokenizer) -> EncodedPair:
    """One row's tokens, made as TRL makes them (see curate.train.run.encode_pairs)."""
    return EncodedPair(*encode_pairs([row["prompt"]], [row["chosen"]], [row["rejected"]], tokenizer)[0])


@dataclass
class Finding:
    kind: str
    count: int = 0
    examples: list[str] = field(default_factory=list)  # "split:row", row = source_row when the data has it


@dataclass
class CheckReport:
    tokenizer: str
    rows: dict[str, int]
    max_length: int | None
    findings: dict[str, Finding]
    longest: int = 0
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


def check_splits(splits: dict[str, Any], tokenizer, name: str, max_length: int | None = None) -> CheckReport:
    """Audit every row of every split (datasets or lists of dicts with prompt/chosen/rejected)."""
    findings = {kind: Finding(kind) for kind in PROBLEMS}
    rows, longest, lengths = {}, 0, {}
    for split, data in splits.items():
        rows[split] = len(data)
        lengths[split] = []
        records = list(_rows(data))
        encoded = encode_pairs(*([r[k] for r in records] for k in ("prompt", "chosen", "rejected")), tokenizer)
        for index, (row, pair) in enumerate(zip(records, encoded, strict=True)):
            row_id = f"{split}:{row.get('source_row', index)}"
            problems, length = check_row(row, EncodedPair(*pair), tokenizer, max_length)
            longest = max(longest, length)
            lengths[split].append(length)
            for kind in problems:
                _record(findings[kind], row_id)
    return CheckReport(name, rows, max_length, findings, longest, lengths)


def _rows(data) -> Iterable[dict]:
    return data if isinstance(data, list) else iter(data)


def _record(finding: Finding, row_id: str) -> None:
    finding.count += 1
    if len(finding.examples) < EXAMPLES_PER_KIND:
        finding.examples.append(row_id)


def check_row(row: dict, encoded: EncodedPair, tokenizer, max_length: int | None) -> tuple[set[str], int]:
    """The problem kinds of one pair, and its length in tokens (prompt + longer response)."""
    problems = set()
    for full in (encoded.chosen, encoded.rejected):
        if _bos_count(full, tokenizer) not in (None, 1):
            problems.add("bos")
        if full[: len(encoded.prompt)] != encoded.prompt:
            problems.add("prefix")
        elif not _ends_with_one_eos(full[len(encoded.prompt) :], tokenizer):
            problems.add("eos")
    if any(_has_special(text, tokenizer) for text in contents(row)):
        problems.add("control_token")
    length = max(len(encoded.chosen), len(encoded.rejected))
    if max_length is not None and length > max_length:
        problems.add("too_long")
    if isinstance(row["prompt"], str) and _template_differs(row, tokenizer):
        problems.add("template_mismatch")
    return problems, length


def adds_bos(tokenizer) -> bool:
    bos = tokenizer.bos_token_id
    return bos is not None and tokenizer(text="a")["input_ids"][:1] == [bos]


def _bos_count(ids: list[int], tokenizer) -> int | None:
    """Leading BOS tokens, or None for a tokenizer that does not use one."""
    if not adds_bos(tokenizer):
        return None
    count = 0
    while count < len(ids) and ids[count] == tokenizer.bos_token_id:
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
            texts += [match["system"] or "", match["user"]] if match else [value]
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
    messages.append({"role": "user", "content": match["user"]})
    rendered_prompt = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    if rendered_prompt != row["prompt"]:
        return True
    for response in (row["chosen"], row["rejected"]):
        turn = [*messages, {"role": "assistant", "content": _response_content(response)}]
        rendered = tokenizer.apply_chat_template(turn, tokenize=False)
        if rendered not in (row["prompt"] + response, row["prompt"] + response + "\n"):
            return True
    return False


def load_tokenizer(name: str, revision: str | None = None, token: str | None = None):
    """A local tokenizer folder or a Hub model's tokenizer. A Hub name is checked with one short request
    first: when the Hub cannot be reached, transformers would retry for ~50 s before failing."""
    auto_tokenizer = _auto_tokenizer()
    if Path(name).exists():
        return _local_tokenizer(Path(name), auto_tokenizer)
    _check_model_id(name)
    from curate.hub_errors import hub_offline

    if not hub_offline():
        _probe_model(name, revision, token)
    return _hub_tokenizer(name, revision, token, auto_tokenizer)


TOKENIZER_FILES = "tokenizer.json or tokenizer_config.json (with vocab.json, tokenizer.model, ...)"
LOCAL_TOKENIZER_HINT = "Pass the folder a tokenizer was saved to (`save_pretrained`), or a Hub model id."


def _auto_tokenizer():
    """transformers is imported here only; a missing install names the extra."""
    from curate.errors import DependencyError

    try:
        from transformers import AutoTokenizer
    except ImportError:
        raise DependencyError("transformers is not installed", hint="pip install 'curate[train]'") from None
    return AutoTokenizer


def _local_tokenizer(folder: Path, auto_tokenizer):
    from curate.errors import InputError, first_line

    if not folder.is_dir():
        raise InputError(f"tokenizer {folder} is a file; expected a folder with {TOKENIZER_FILES}")
    try:
        return auto_tokenizer.from_pretrained(str(folder))
    except Exception as err:  # transformers raises OSError, ValueError, KeyError...: all "no tokenizer here"
        names = sorted(p.name for p in folder.iterdir())
        found = ", ".join(names[:8]) + (", ..." if len(names) > 8 else "") or "nothing"
        # With tokenizer files present, transformers' reason says what is wrong with them.
        reason = f" ({first_line(err)})" if {"tokenizer.json", "tokenizer_config.json"} & set(names) else ""
        raise InputError(
            f"{folder} is not a tokenizer folder: expected {TOKENIZER_FILES}; found {found}{reason}",
            hint=LOCAL_TOKENIZER_HINT,
        ) from None


def _check_model_id(name: str) -> None:
    from huggingface_hub.utils import HFValidationError, validate_repo_id

    from curate.errors import InputError

    try:
        validate_repo_id(name)
    except HFValidationError:
        raise InputError(
            f"tokenizer {name!r}: no such folder, and not a Hub model id (owner/name)", hint=LOCAL_TOKENIZER_HINT
        ) from None


def _probe_model(name: str, revision: str | None, token: str | None) -> None:
    from huggingface_hub import HfApi

    from curate.hub_errors import PROBE_TIMEOUT, hub_errors

    with hub_errors(f"model {name}", token=token, revision=revision, unreachable_hint=HUB_TOKENIZER_HINT):
        HfApi(token=token).model_info(name, revision=revision, timeout=PROBE_TIMEOUT)


HUB_TOKENIZER_HINT = "Pass a local tokenizer folder, or set HF_HUB_OFFLINE=1 to use one in your Hub cache."
CACHED_TOKENIZER_HINT = "Unset HF_HUB_OFFLINE on a machine that reaches the Hub, or pass a local tokenizer folder."


def _hub_tokenizer(name: str, revision: str | None, token: str | None, auto_tokenizer):
    from curate.errors import HubError, InputError, first_line
    from curate.hub_errors import hub_errors, hub_offline

    hint = CACHED_TOKENIZER_HINT if hub_offline() else HUB_TOKENIZER_HINT
    try:
        with hub_errors(f"model {name}", token=token, revision=revision, unreachable_hint=hint):
            return auto_tokenizer.from_pretrained(name, revision=revision, token=token)
    except OSError as err:  # transformers wraps Hub and cache failures in OSError
        offline = " (HF_HUB_OFFLINE is set)" if hub_offline() else ""
        raise HubError(f"cannot load the tokenizer {name}{offline}: {first_line(err)}", hint=hint) from None
    except (ValueError, KeyError) as err:  # the files are there, but are no tokenizer transformers can load
        raise InputError(f"model {name} has no tokenizer transformers can load: {first_line(err)}") from None
