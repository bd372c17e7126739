"""Every drop reason, in rule order, with what it means. The README's table and the schemas use this list."""

from __future__ import annotations

REASONS = {
    "empty_prompt": "the prompt is missing or shows nothing (empty, or only whitespace, control or format "
    "characters such as NUL and zero-width spaces)",
    "empty_chosen": "the chosen response is missing or shows nothing (as for `empty_prompt`)",
    "empty_rejected": "the rejected response is missing or shows nothing (as for `empty_prompt`)",
    "missing_rating": "a rating is missing (the source has rating columns)",
    "non_numeric_rating": "a rating is not a finite number (text that does not parse, NaN or infinity), or the "
    "gap overflows",
    "control_token": "a text contains a ChatML control token (`<|im_start|>`, `<|im_end|>`)",
    "text_too_long": "prompt + longer response exceed `validate.max_chars` characters",
    "identical_responses": "chosen and rejected are the same after normalisation",
    "inverted_rating": "the chosen response is rated below the rejected one",
    "tie": "both responses have the same rating",
    "small_rating_gap": "the rating gap is below `preference.min_rating_gap`",
    "contaminated": "the prompt, chosen or rejected text overlaps a benchmark item (GSM8K, MATH-500 or one "
    "named in the recipe): it holds at least `decontaminate.min_overlap` of the item's word n-grams",
    "duplicate_pair": "the same prompt, chosen and rejected (normalised) as an earlier kept row",
    "duplicate_prompt": "another pair for the same normalised prompt was kept (largest gap, then highest "
    "chosen rating, then first seen)",
    "near_duplicate_prompt": "the prompt is a near-duplicate (shingle Jaccard at least `near_dedup.threshold`) of "
    "a prompt kept in its cluster (same keep rule as `duplicate_prompt`)",
    "too_long": "prompt + longer response exceed `tokens.max_length` tokens of `tokens.tokenizer`",
    "length_bias": "one of the most length-skewed chosen-longer pairs, dropped to keep their share within "
    "`length_bias.max_chosen_longer_share`",
}
