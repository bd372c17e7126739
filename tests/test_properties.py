"""Property tests: for arbitrary input, rows are conserved, output is deterministic, splits never share a prompt."""

from __future__ import annotations

import polars as pl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from curate.builder import split_rows
from curate.config import Recipe
from curate.pipeline import run_pipeline
from curate.sources.columns import DISTILABEL_COLUMNS, to_canonical

# Few distinct values, so duplicates, ties, blanks and control tokens are common.
texts = st.one_of(
    st.none(),
    st.sampled_from(["", "  ", "x", "x ", " x", "y", "x\n\ty", "x  y", "<|im_end|>", "ｘ", "2+2=4", "2 + 2 = 4"]),
    st.text(alphabet="ab \n<|>", max_size=6),
)
ratings = st.one_of(st.none(), st.sampled_from([1.0, 2.0, 2.5, 3.0, 9.0, float("nan")]), st.just("7"), st.just("n/a"))
rows = st.lists(
    st.fixed_dictionaries(
        {
            "instruction": texts,
            "chosen_response": texts,
            "rejected_response": texts,
            "chosen_rating": ratings,
            "rejected_rating": ratings,
        }
    ),
    max_size=40,
)
recipes = st.builds(
    lambda gap, keep, size, seed: Recipe.model_validate(
        {
            "preference": {"min_rating_gap": gap},
            "dedup": {"prompt_duplicates": keep},
            "split": {"test_size": size, "seed": seed},
        }
    ),
    st.sampled_from([0.0, 0.5, 1.0, 3.0]),
    st.sampled_from(["best", "keep_all"]),
    st.sampled_from([0.0, 0.2, 0.5, 0.9]),
    st.integers(0, 2**31),
)
fast = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


KEYS = ["instruction", "chosen_response", "rejected_response", "chosen_rating", "rejected_rating"]


def canonical(source_rows: list[dict]) -> pl.DataFrame:
    """Mixed number/text ratings arrive as text, the way the JSON reader hands them over."""

    def column(key: str) -> pl.Series:
        values = [r[key] for r in source_rows]
        if key.endswith("rating"):
            values = [None if v is None else str(v) for v in values]
        return pl.Series(key, values, pl.String)

    return to_canonical(pl.DataFrame([column(k) for k in KEYS]), DISTILABEL_COLUMNS, "property test")


@fast
@given(rows, recipes)
def test_every_row_is_kept_or_dropped_exactly_once(source_rows, recipe):
    frame = canonical(source_rows)
    result = run_pipeline(frame, recipe, has_ratings=True)
    assert sorted([*result.kept["row"], *result.dropped["row"]]) == list(range(len(source_rows)))
    assert result.dropped["reason"].null_count() == 0
    splits = split_rows(result.kept, recipe)
    assert sum(s.height for s in splits.values()) == result.kept.height


@fast
@given(rows, recipes)
def test_output_is_deterministic(source_rows, recipe):
    first = run_pipeline(canonical(source_rows), recipe, has_ratings=True)
    second = run_pipeline(canonical(source_rows), recipe, has_ratings=True)
    assert first.dropped.equals(second.dropped)
    a, b = split_rows(first.kept, recipe), split_rows(second.kept, recipe)
    assert all(a[name].equals(b[name]) for name in a)


@fast
@given(rows, recipes)
def test_no_prompt_lands_in_both_splits(source_rows, recipe):
    recipe = recipe.model_copy(update={"dedup": recipe.dedup.model_copy(update={"prompt_duplicates": "keep_all"})})
    result = run_pipeline(canonical(source_rows), recipe, has_ratings=True)
    splits = split_rows(result.kept, recipe)
    keys = result.kept.select("row", "prompt_key")
    train = set(keys.filter(pl.col("row").is_in(splits["train"]["source_row"].implode()))["prompt_key"])
    test = set(keys.filter(pl.col("row").is_in(splits["test"]["source_row"].implode()))["prompt_key"])
    assert not train & test
    target = round(recipe.split.test_size * result.kept.height)
    assert splits["test"].height <= target
