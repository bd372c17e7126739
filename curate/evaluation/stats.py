"""The statistics of an evaluation: a Wilson interval per accuracy, and for two models on the same items an exact
McNemar test with Newcombe's interval for the paired difference. Pure Python (math.comb), exact for any n."""

from __future__ import annotations

import math
from dataclasses import dataclass

Z95 = 1.959963984540054  # the normal quantile of a two-sided 95% interval
ALPHA = 0.05


def wilson(correct: int, n: int, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval of a proportion: sensible at 0 and n, unlike the normal approximation.

    >>> [round(x, 4) for x in wilson(8, 10)]
    [0.4902, 0.9433]
    """
    if n == 0:
        return (0.0, 1.0)
    p = correct / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return (max(0.0, centre - half), min(1.0, centre + half))


def mcnemar_exact(base_only: int, trained_only: int) -> float:
    """Two-sided p-value of the exact McNemar test: under "no difference" each discordant item (right for one
    model only) is equally likely either way, so the smaller count is Binomial(b + c, 1/2); p = 2 x its tail.

    >>> mcnemar_exact(1, 9)  # 2 * (1 + 10) / 2**10
    0.021484375
    """
    discordant = base_only + trained_only
    if discordant == 0:
        return 1.0
    low = min(base_only, trained_only)
    tail = sum(math.comb(discordant, k) for k in range(low + 1)) / 2**discordant
    return min(1.0, 2 * tail)


def paired_difference_interval(
    both: int, trained_only: int, base_only: int, neither: int, z: float = Z95
) -> tuple[float, float]:
    """95% interval of p(trained) - p(base) on the same items: Newcombe's hybrid score interval for paired
    proportions (method 10 of Newcombe 1998), built from the two Wilson intervals and the pairs' correlation.
    Unlike the Wald interval it stays inside [-1, 1] and is asymmetric near the bounds."""
    n = both + trained_only + base_only + neither
    if n == 0:
        return (-1.0, 1.0)
    p_trained, p_base = (both + trained_only) / n, (both + base_only) / n
    lo_t, hi_t = wilson(both + trained_only, n, z)
    lo_b, hi_b = wilson(both + base_only, n, z)
    phi = _phi(both, trained_only, base_only, neither)
    d_lower = math.sqrt(
        max(0.0, (p_trained - lo_t) ** 2 - 2 * phi * (p_trained - lo_t) * (hi_b - p_base) + (hi_b - p_base) ** 2)
    )
    d_upper = math.sqrt(
        max(0.0, (hi_t - p_trained) ** 2 - 2 * phi * (hi_t - p_trained) * (p_base - lo_b) + (p_base - lo_b) ** 2)
    )
    difference = p_trained - p_base
    return (max(-1.0, difference - d_lower), min(1.0, difference + d_upper))


def _phi(a: int, b: int, c: int, d: int) -> float:
    """The phi correlation of the 2x2 table (0 when a margin is empty)."""
    denominator = (a + b) * (c + d) * (a + c) * (b + d)
    return 0.0 if denominator == 0 else (a * d - b * c) / math.sqrt(denominator)


@dataclass(frozen=True)
class PairedComparison:
    """Two models graded on the same items."""

    items: int
    both: int  # right for both
    trained_only: int  # right for the trained model only
    base_only: int  # right for the base model only
    neither: int
    difference: float  # accuracy(trained) - accuracy(base)
    ci95: tuple[float, float]
    p_value: float  # exact McNemar, two-sided

    @property
    def within_noise(self) -> bool:
        """The difference is not significant at 5% (the exact test; the interval then holds 0 as well, nearly
        always: the two are separate constructions and can disagree at the edge)."""
        return self.p_value >= ALPHA

    def verdict(self) -> str:
        """One plain sentence on what the difference means."""
        points = f"{100 * self.difference:+.1f} points"
        interval = f"95% CI {100 * self.ci95[0]:+.1f} to {100 * self.ci95[1]:+.1f}"
        discordant = f"{self.trained_only} items gained, {self.base_only} lost"
        if self.within_noise:
            return f"{points} ({interval}; {discordant}; McNemar p = {self.p_value:.3g}): within noise"
        direction = "better" if self.difference > 0 else "worse"
        return f"{points} ({interval}; {discordant}; McNemar p = {self.p_value:.3g}): the trained model is {direction}"

    def as_dict(self) -> dict:
        return {
            "items": self.items,
            "both_correct": self.both,
            "trained_only_correct": self.trained_only,
            "base_only_correct": self.base_only,
            "neither_correct": self.neither,
            "difference": self.difference,
            "ci95": list(self.ci95),
            "mcnemar_p": self.p_value,
            "within_noise": self.within_noise,
            "verdict": self.verdict(),
        }


def compare_paired(base_correct: list[bool], trained_correct: list[bool]) -> PairedComparison:
    if len(base_correct) != len(trained_correct):
        raise ValueError("both models must be graded on the same items")
    pairs = list(zip(base_correct, trained_correct, strict=True))
    both = sum(1 for b, t in pairs if b and t)
    trained_only = sum(1 for b, t in pairs if t and not b)
    base_only = sum(1 for b, t in pairs if b and not t)
    neither = len(pairs) - both - trained_only - base_only
    n = len(pairs)
    return PairedComparison(
        items=n,
        both=both,
        trained_only=trained_only,
        base_only=base_only,
        neither=neither,
        difference=(trained_only - base_only) / n if n else 0.0,
        ci95=paired_difference_interval(both, trained_only, base_only, neither),
        p_value=mcnemar_exact(base_only, trained_only),
    )
