"""The recipe: one validated model holding every build setting, loaded from YAML and overridden by flags."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    ValidationError,
    field_validator,
    model_serializer,
    model_validator,
)

from curate.errors import ConfigError

DEFAULT_RECIPE = Path(__file__).parent / "recipes" / "math-dpo.yaml"


def _not_a_boolean(value: Any) -> Any:
    """YAML reads `yes`/`true` as booleans, and pydantic would take them as 1 (or 1.0): a number field
    given a boolean is a mistake in the recipe, not the number one."""
    if isinstance(value, bool):
        raise ValueError(f"expected a number, found a boolean ({str(value).lower()})")
    return value


NO_BOOL = BeforeValidator(_not_a_boolean)  # on every number field of the build and training recipes


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ColumnMap(_Section):
    """Which source column holds each canonical field."""

    prompt: str = Field(description="Column with the user's question (a string or a message list).")
    chosen: str = Field(description="Column with the preferred response (a string or a message list).")
    rejected: str = Field(description="Column with the dispreferred response (a string or a message list).")
    chosen_rating: str | None = Field(None, description="Column with the chosen response's rating, if any.")
    rejected_rating: str | None = Field(None, description="Column with the rejected response's rating, if any.")
    system: str | None = Field(None, description="Column with a per-row system prompt, if any.")
    reference: str | None = Field(
        None, description="Column with the pair's reference answer, if any (read only with `answers.enabled`)."
    )

    @model_serializer(mode="wrap")
    def _without_unset_reference(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        # Written only when mapped: reports of builds without a reference column stay as they were.
        data = handler(self)
        if data.get("reference") is None:
            data.pop("reference", None)
        return data


class SourceConfig(_Section):
    dataset: str = Field(
        "argilla/distilabel-math-preference-dpo", description="Hub dataset id, used when `path` is not set."
    )
    revision: str = Field("main", description="Hub branch, tag or commit sha; the resolved sha is recorded.")
    split: str = Field("train", description="Split of the source to read.")
    path: str | None = Field(
        None, description="Local parquet, JSON or JSONL file, or a folder (Hub layout or save_to_disk)."
    )
    columns: ColumnMap | None = Field(
        None,
        description="Column mapping. Unset: detected (distilabel's instruction/chosen_response/... "
        "or TRL's prompt/chosen/rejected).",
    )


class ValidateConfig(_Section):
    control_tokens: list[str] = Field(
        ["<|im_start|>", "<|im_end|>"],
        description="Strings that must not appear in any text: they would break the ChatML turn structure.",
    )

    @field_validator("control_tokens")
    @classmethod
    def _no_blank_token(cls, tokens: list[str]) -> list[str]:
        # "" (or all whitespace) is "contained" in every text: every row would be dropped as control_token.
        blank = [index for index, token in enumerate(tokens) if not token.strip()]
        if blank:
            raise ValueError(f"entry {blank[0]} is empty or whitespace; expected a token such as '<|im_end|>'")
        return tokens

    max_chars: Annotated[int, NO_BOOL] = Field(
        8000,
        gt=0,
        description="Longest prompt + longer response, in characters. About 2,000+ Mistral tokens of math "
        "text, past the 1,024-2,048 token max_length of a typical DPO run. Token-exact limits: issue 6.",
    )


class PreferenceConfig(_Section):
    min_rating_gap: Annotated[float, NO_BOOL] = Field(
        1.0,
        ge=0,
        description="Smallest chosen - rejected rating gap kept. The judge rates on a 1-10 scale; a gap "
        "under one point is a preference the judge barely expressed, and such pairs are mostly noise.",
    )


class DedupConfig(_Section):
    prompt_duplicates: Literal["best", "keep_all"] = Field(
        "best",
        description="Pairs sharing a normalised prompt: `best` keeps one (largest rating gap, then highest "
        "chosen rating, then first seen); `keep_all` keeps every pair (the split still groups them).",
    )


class NearDedupConfig(_Section):
    prompt_duplicates: Literal["best", "keep_all"] = Field(
        "best",
        description="Pairs whose prompts are near-duplicates (one cluster): `best` keeps one per cluster "
        "by the exact-duplicate rule; `keep_all` keeps them all (the split still keeps a cluster on one side).",
    )
    threshold: Annotated[float, NO_BOOL] = Field(
        0.7,
        gt=0,
        le=1,
        description="Smallest Jaccard similarity of two prompts' shingle sets that makes them near-duplicates. "
        "0.7 with 3-word shingles catches a 25-word prompt with one number changed (about 0.77) and keeps "
        "two problems of one template with different names and numbers (about 0.4-0.6).",
    )
    shingle_words: Annotated[int, NO_BOOL] = Field(
        3,
        ge=1,
        le=10,
        description="Words per shingle. Short math prompts (20-40 words) need short shingles: one changed "
        "word removes `shingle_words` shingles, so 5-word shingles would miss a one-number change.",
    )


class BenchmarkSpec(_Section):
    """A benchmark to decontaminate against: a Hub dataset or a local file, and the column of its items."""

    name: str | None = Field(None, description="Name in the report and drop details; default: the id or file name.")
    dataset: str | None = Field(None, description="Hub dataset id (loaded with `datasets`, cached).")
    config: str | None = Field(None, description="Hub dataset config name, e.g. `main` for openai/gsm8k.")
    revision: str | None = Field(None, description="Hub branch, tag or commit sha; null = the default branch.")
    path: str | None = Field(None, description="Local parquet, JSON or JSONL file instead of the Hub.")
    split: str = Field("test", description="Split of the Hub dataset to read (ignored for a local file).")
    column: str | None = Field(
        None, description="Column holding the benchmark items; null = the first of problem, question, prompt, text."
    )

    @model_validator(mode="after")
    def _one_source(self) -> BenchmarkSpec:
        if bool(self.dataset) == bool(self.path):
            raise ValueError("a benchmark needs exactly one of `dataset` (Hub id) or `path` (local file)")
        return self


class DecontaminateConfig(_Section):
    benchmarks: list[str | BenchmarkSpec] = Field(
        ["gsm8k", "math500"],
        description="Benchmarks whose items no pair may overlap: `gsm8k` (openai/gsm8k, main, test, question), "
        "`math500` (HuggingFaceH4/MATH-500, test, problem), a Hub dataset id, a local file path, or a mapping "
        "(dataset or path, split, column). Empty: no decontamination.",
    )

    @field_validator("benchmarks")
    @classmethod
    def _no_empty_name(cls, entries: list[str | BenchmarkSpec]) -> list[str | BenchmarkSpec]:
        # An empty name is a typo (`gsm8k,,math500`), never a way to say "no check": that is `[]`.
        for index, entry in enumerate(entries):
            if isinstance(entry, str) and not entry.strip():
                raise ValueError(
                    f"entry {index} is an empty name; expected gsm8k, math500, a Hub dataset id (owner/name) "
                    "or a local file ([] for no decontamination)"
                )
        return entries

    ngram: Annotated[int, NO_BOOL] = Field(
        8,
        ge=3,
        le=30,
        description="Words per n-gram compared. 8, not the 13 used for web text: a MATH-500 problem is often "
        "under 13 words, and 8 words of the same problem text are already specific.",
    )
    min_overlap: Annotated[float, NO_BOOL] = Field(
        0.5,
        gt=0,
        le=1,
        description="Share of a benchmark item's n-grams a text must contain to count as a match. Half: a "
        "restated problem with a changed number still matches, one shared stock phrase does not. Items "
        "shorter than `ngram` words must appear whole.",
    )


class RenderConfig(_Section):
    format: Literal["chatml", "conversational"] = Field(
        "chatml",
        description="`chatml`: ChatML strings for OpenHermes-2.5 style models. `conversational`: message "
        "lists, for models whose chat template TRL should apply.",
    )
    system_prompt: str | None = Field(
        None, description="System turn added to every prompt (a per-row system column takes precedence)."
    )


class SplitConfig(_Section):
    test_size: Annotated[float, NO_BOOL] = Field(
        0.1, ge=0, lt=1, description="Fraction of kept rows in the test split (grouped by near-duplicate cluster)."
    )
    seed: Annotated[int, NO_BOOL] = Field(42, description="Seed of the grouped split; same seed and data, same split.")


class TokensConfig(_Section):
    tokenizer: str | None = Field(
        None,
        description="Tokenizer (Hub model id or local folder) to measure pairs with, as TRL's DPOTrainer will; "
        "null = lengths in characters and no token limit.",
    )
    max_length: Annotated[int | None, NO_BOOL] = Field(
        None,
        gt=0,
        description="Drop pairs whose prompt + longer response exceed this many tokens (reason too_long), so "
        "training never truncates or drops them silently. Needs `tokenizer`.",
    )

    @model_validator(mode="after")
    def _limit_needs_tokenizer(self):
        if self.max_length is not None and self.tokenizer is None:
            raise ValueError("tokens.max_length needs tokens.tokenizer")
        return self


class LengthBiasConfig(_Section):
    max_chosen_longer_share: Annotated[float | None, NO_BOOL] = Field(
        None,
        gt=0,
        lt=1,
        description="Bound on the share of pairs whose chosen response is longer than the rejected one; above it, "
        "the most length-skewed of those pairs are dropped (reason length_bias). DPO learns 'longer is better' "
        "when the share is high. null = report the share, drop nothing.",
    )


class ReferenceSet(_Section):
    """Reference answers in a set of their own (GSM8K's test split, a local file), joined to the pairs on the
    normalised prompt."""

    dataset: str | None = Field(None, description="Hub dataset id (loaded with `datasets`, cached).")
    config: str | None = Field(None, description="Hub dataset config name, e.g. `main` for openai/gsm8k.")
    revision: str | None = Field(None, description="Hub branch, tag or commit sha; null = the default branch.")
    path: str | None = Field(None, description="Local parquet, JSON or JSONL file instead of the Hub.")
    split: str = Field("test", description="Split of the Hub dataset to read (ignored for a local file).")
    question: str | None = Field(
        None, description="Column holding the questions; null = the first of question, problem, prompt, instruction."
    )
    answer: str | None = Field(
        None,
        description="Column holding the answers (a value, GSM8K's `... #### 42`, or a solution ending in "
        "`\\boxed{}`); null = the first of answer, solution, final_answer.",
    )

    @model_validator(mode="after")
    def _one_source(self) -> ReferenceSet:
        if bool(self.dataset) == bool(self.path):
            raise ValueError("a reference set needs exactly one of `dataset` (Hub id) or `path` (local file)")
        return self


class AnswersConfig(_Section):
    enabled: bool = Field(
        False,
        description="Extract each response's final answer and compare the pair's answers (and a reference's, "
        "if any). Off: no answer columns, no `answers` step, the build as without this section.",
    )
    reference: ReferenceSet | None = Field(
        None,
        description="A reference set joined on the normalised prompt; null = the source column mapped as "
        "`source.columns.reference`, if any, else no reference.",
    )
    drop_chosen_incorrect: bool = Field(
        True,
        description="With a reference: drop pairs whose chosen answer is wrong (reason chosen_incorrect).",
    )
    drop_rejected_correct: bool = Field(
        True,
        description="With a reference: drop pairs whose rejected answer is right (reason rejected_correct): "
        "the pair would teach the wrong answer.",
    )
    drop_same_final_answer: bool = Field(
        False,
        description="Drop pairs whose two answers are the same (reason same_final_answer): without a reference "
        "such a pair teaches style, not correctness.",
    )
    workers: Annotated[int, NO_BOOL] = Field(
        2,
        ge=1,
        le=64,
        description="Processes that run math-verify for the answers the plain-number path cannot decide.",
    )
    item_timeout: Annotated[float, NO_BOOL] = Field(
        5.0,
        gt=0,
        description="Seconds of worker CPU per pair for math-verify; a pair over it is `undetermined` and counted "
        "in the report's timeouts (20x the slowest ordinary symbolic comparison measured).",
    )


class CardConfig(_Section):
    license: str | None = Field(None, description="License in the dataset card; null = the source's license.")
    pretty_name: str | None = Field(None, description="Title of the dataset card; null = derived from the source.")
    language: list[str] = Field(["en"], description="Languages of the texts (ISO 639-1).")
    tags: list[str] = Field(["math"], description="Tags added to dpo, preference, trl and curate.")


class Recipe(_Section):
    """Every setting of `curate build`."""

    source: SourceConfig = SourceConfig()
    validate_: ValidateConfig = Field(ValidateConfig(), alias="validate")
    preference: PreferenceConfig = PreferenceConfig()
    decontaminate: DecontaminateConfig = DecontaminateConfig()
    dedup: DedupConfig = DedupConfig()
    near_dedup: NearDedupConfig = NearDedupConfig()
    render: RenderConfig = RenderConfig()
    tokens: TokensConfig = TokensConfig()
    length_bias: LengthBiasConfig = LengthBiasConfig()
    split: SplitConfig = SplitConfig()
    card: CardConfig = CardConfig()
    answers: AnswersConfig = AnswersConfig()

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    @model_serializer(mode="wrap")
    def _answers_only_when_enabled(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        # A build with the answer checks off is the build without them, byte for byte (report, card).
        data = handler(self)
        if not self.answers.enabled:
            data.pop("answers", None)
        return data

    @model_validator(mode="after")
    def _reference_once(self) -> Recipe:
        columns = self.source.columns
        if self.answers.reference is not None and columns is not None and columns.reference:
            raise ValueError(
                "answers.reference and source.columns.reference both name reference answers; keep one of them"
            )
        return self

    @model_validator(mode="after")
    def _system_prompt_keeps_the_turns(self) -> Recipe:
        """The system prompt goes into every row, past the validate step that checks the rows' texts."""
        prompt = self.render.system_prompt or ""
        found = [token for token in self.validate_.control_tokens if token in prompt]
        if found:
            raise ValueError(
                f"render.system_prompt contains the control token {found[0]!r} (validate.control_tokens); "
                "expected plain text: it would break the ChatML turn structure of every row"
            )
        return self

    def dump(self) -> dict[str, Any]:
        return self.model_dump(mode="json", by_alias=True)


def load_recipe(path: str | Path | None = None, overrides: dict[str, Any] | None = None) -> Recipe:
    """Read a recipe YAML (the shipped default when `path` is None) and apply dotted-key overrides."""
    data = read_recipe_yaml(Path(path) if path else DEFAULT_RECIPE)
    for dotted, value in (overrides or {}).items():
        set_dotted(data, dotted, value)
    try:
        return Recipe.model_validate(data)
    except ValidationError as err:
        raise ConfigError(
            describe_validation_error(err, path), hint="See the documented default recipe: `curate recipe`."
        ) from None


def read_recipe_yaml(path: Path) -> dict[str, Any]:
    """A recipe file as a mapping; every way it can be unreadable is a ConfigError."""
    import yaml

    try:
        data = load_yaml(path.read_text(encoding="utf-8"))
    except (FileNotFoundError, NotADirectoryError):
        raise ConfigError(f"recipe file not found: {path}", hint=EXPECTED_RECIPE) from None
    except IsADirectoryError:
        raise ConfigError(f"recipe {path} is a folder, not a file", hint=EXPECTED_RECIPE) from None
    except OSError as err:
        raise ConfigError(f"cannot read recipe {path}: {err.strerror or err}", hint=EXPECTED_RECIPE) from None
    except DuplicateKeyError as err:
        raise ConfigError(f"recipe {path}: {err}", hint="Keep one of them: YAML would silently use the last.") from None
    except (yaml.YAMLError, UnicodeDecodeError) as err:
        raise ConfigError(f"recipe {path} is not valid YAML: {err}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"recipe {path} must be a mapping of sections, found {type(data).__name__}")
    return data


EXPECTED_RECIPE = "Pass a readable YAML file to -r/--recipe."


def load_yaml(text: str) -> Any:
    """`yaml.safe_load`, except that a key given twice in one mapping is an error (DuplicateKeyError)."""
    import yaml

    return yaml.load(text, Loader=_unique_key_loader())  # a SafeLoader subclass: safe


@functools.cache
def _unique_key_loader() -> type:
    import yaml

    class UniqueKeyLoader(yaml.SafeLoader):
        def construct_mapping(self, node, deep=False):
            _check_unique_keys(self, node)
            return super().construct_mapping(node, deep=deep)

    return UniqueKeyLoader


class DuplicateKeyError(ValueError):
    pass


def _check_unique_keys(loader, node) -> None:
    """PyYAML keeps the last of two equal keys without a word; `<<` merge keys may be overridden on purpose."""
    first_line: dict[Any, int] = {}
    for key_node, _ in node.value:
        if key_node.tag == "tag:yaml.org,2002:merge":
            continue
        key = loader.construct_object(key_node, deep=True)
        if not isinstance(key, str | int | float | bool | None):
            continue  # unhashable keys are PyYAML's own error
        line = key_node.start_mark.line + 1
        if key in first_line:
            raise DuplicateKeyError(f"key {key!r} appears twice in one mapping (lines {first_line[key]} and {line})")
        first_line[key] = line


def set_dotted(data: dict[str, Any], dotted: str, value: Any) -> None:
    """`data["a"]["b"] = value` for the dotted key `a.b` (a flag or --set override of a recipe key)."""
    *parents, leaf = dotted.split(".")
    node = data
    for key in parents:
        node = node.setdefault(key, {})
        if not isinstance(node, dict):
            raise ConfigError(f"cannot set {dotted}: {key} is not a section")
    node[leaf] = value


def describe_validation_error(err: ValidationError, path: str | Path | None) -> str:
    """pydantic's errors as one message that names each recipe key (the build and the training recipe)."""
    where = f"recipe {path}" if path else "recipe"
    problems = []
    for item in err.errors():
        field = ".".join(str(p) for p in item["loc"]).replace("validate_", "validate")
        message = item["msg"].removeprefix("Value error, ")  # pydantic's prefix for a validator's ValueError
        problems.append(f"{field}: {message}" if field else message)
    return f"invalid {where}: " + "; ".join(problems)
