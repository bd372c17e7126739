"""Synthetic rows in the argilla/distilabel-math-preference-dpo schema, with realistic defects.

Used by the benchmarks (millions of rows) and by data/make_sample.py (the shipped sample).
It is a plain module on purpose: callers put this folder on sys.path and `import generate`.

    python benchmarks/generate.py 100000 /tmp/rows.parquet [--seed 0]   # or OUT.jsonl

Speed matters (1M rows in seconds), so all randomness comes from one bound `random()` call
(no randint/choice, whose Python implementations may change) and each row is a handful of
f-strings. The same seed always gives the same rows, however they are chunked.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

COLUMNS = (
    "metadata",
    "instruction",
    "chosen_response",
    "chosen_rating",
    "rejected_response",
    "rejected_rating",
)
SUFFIX = ".\n Take a deep breath, think step by step, and give an accurate response"
LONG_TEXT_CHARS = 8000  # the text_too_long limit of the build rules

# Defect rates (cumulative thresholds below). Everything else is a clean row.
RATES = {
    "duplicate_pair": 0.03,
    "repeated_prompt": 0.08,
    "tie": 0.03,
    "inverted": 0.05,
    "small_gap": 0.05,
    "identical": 0.01,
    "empty": 0.005,
    "control_token": 0.003,
    "null_rating": 0.001,
    "nan_rating": 0.0005,  # not asked for by the rules' examples, but NaN is not null in Arrow
    "too_long": 0.001,
    "near_duplicate": 0.03,  # a recent prompt reworded, respaced or with one number changed
    "contaminated": 0.002,  # a benchmark item (benchmark_items) in the prompt, chosen or rejected text
}
BENCHMARK_ITEMS = 2000  # the size of the benchmark file the build decontaminates against
RECENT = 4096  # copies and repeated prompts come from this many recent rows

Rand = Callable[[], float]
Problem = tuple[str, str, tuple[str, ...], str, str]  # prompt, question, steps, right, wrong

NAMES = (
    "Alice", "Ben", "Carmen", "Dev", "Elena", "Farid", "Grace", "Hiro", "Ines", "Jamal",
    "Keiko", "Liam", "Maya", "Noah", "Olga", "Priya", "Quinn", "Rosa", "Sam", "Tariq",
    "Uma", "Victor", "Wen", "Ximena", "Yusuf", "Zoe", "Aiden", "Bianca", "Chloe", "Diego",
    "Emma", "Felix", "Hana", "Ivan", "Julia", "Kofi", "Lena", "Mateo", "Nadia", "Omar",
)  # fmt: skip
ITEMS = (
    "notebooks", "pencils", "apples", "movie tickets", "bus passes", "candles", "plant pots",
    "paint brushes", "sandwiches", "water bottles", "puzzle books", "USB cables", "coffee mugs",
    "pairs of socks", "tennis balls", "sticker packs", "batteries", "cupcakes", "postcards",
    "light bulbs",
)  # fmt: skip
PRODUCTS = (
    "jacket", "laptop", "bicycle", "pair of headphones", "desk lamp", "backpack", "tablet",
    "coffee machine", "pair of running shoes", "board game", "camera", "office chair",
)  # fmt: skip
VEHICLES = ("car", "train", "cyclist", "bus", "boat", "runner", "truck", "motorbike", "drone")
PLACES = ("garden", "room", "parking lot", "field", "swimming pool", "patio", "classroom", "yard")
ROUND_THINGS = ("pizza", "clock face", "table top", "pond", "mirror", "garden bed", "trampoline")
COLORS = ("red", "blue", "green")
VARIABLES = (("x", "y"), ("a", "b"), ("m", "n"), ("p", "q"), ("u", "v"))

INTROS = (
    "To solve this problem, let's work through it step by step.",
    "Sure! Let's break this down one step at a time.",
    "Let's approach this carefully, step by step.",
    "Great question! Here is a step-by-step solution.",
    "We can solve this by following a few simple steps.",
    "Certainly! Let me walk you through the solution.",
    "Let's start by writing down what we know and then solve it systematically.",
)
CONCLUSIONS = (
    "Therefore, the answer is {}.",
    "So, the final answer is {}.",
    "Putting it all together, the answer is {}.",
    "Hence, the result is {}.",
)
CLOSINGS = (
    "",
    "",
    "I hope this helps! Let me know if you have any other questions.",
    "Remember to double-check each step when you solve similar problems.",
    "If anything is unclear, feel free to ask and I will explain it in more detail.",
)
ASIDES = (
    "It is always a good idea to write down the given information before starting.",
    "Keeping track of units at every step helps avoid mistakes.",
    "Working slowly and checking each line is more reliable than doing everything at once.",
    "Drawing a quick sketch can make the relationships in the problem easier to see.",
)
RESTATE = (
    "We are asked the following: {}",
    "Here is what the question says. {}",
    "Let's restate the problem first. {}",
    "The problem: {}",
)
EXPLAIN = (
    "This keeps both sides of the relationship balanced, so the result stays correct.",
    "Writing the intermediate result down makes the next step easier to follow.",
    "Doing this first means we only have to deal with one quantity at a time.",
    "It is worth pausing here to make sure the numbers were copied correctly.",
    "This is the standard approach for this type of problem.",
    "Notice that the units carry through the calculation unchanged.",
)
REVIEWS = (
    "To review: every step followed from the one before it, and the check at the end agrees "
    "with the information in the question.",
    "Looking back, the main idea was to translate the words into a calculation and then carry "
    "it out carefully, one operation at a time.",
    "A quick estimate also lands close to this value, which is a good sign that no arithmetic "
    "slip crept in along the way.",
)
STEP_LABELS = ("Step {}: ", "{}. ", "{}) ")
VAGUE = (
    "This follows directly from the information given in the question, so no further "
    "calculation is really needed here.",
    "If you apply the usual formula to the numbers in the question you get this value straight away.",
    "The key idea is to use the numbers provided and combine them in the obvious way.",
)


def _int(u: Rand, lo: int, hi: int) -> int:
    """Uniform integer in [lo, hi]."""
    return lo + int(u() * (hi - lo + 1))


def _pick(u: Rand, seq: tuple):
    return seq[int(u() * len(seq))]


def _signed(value: int, var: str = "") -> str:
    """' + 3x' / ' - 3x' for the middle of an expression."""
    return f" {'-' if value < 0 else '+'} {abs(value)}{var}"


# --- problem templates: each returns (question, steps, answer, wrong answer) --------------


def _change(u: Rand) -> tuple[str, tuple[str, ...], str, str]:
    name, item = _pick(u, NAMES), _pick(u, ITEMS)
    count, cents = _int(u, 2, 24), _int(u, 105, 4999)
    total = count * cents
    bill = (total // 1000 + 1 + _int(u, 0, 3)) * 1000
    change = bill - total
    q = (
        f"{name} buys {count} {item} at ${cents / 100:.2f} each and pays with "
        f"${bill // 100}. How much change should {name} get back?"
    )
    steps = (
        f"Find the total cost. {name} buys {count} {item} at ${cents / 100:.2f} each, so the "
        f"total is {count} × ${cents / 100:.2f} = ${total / 100:.2f}.",
        f"Subtract the total cost from the amount paid: ${bill / 100:.2f} - ${total / 100:.2f} = ${change / 100:.2f}.",
        f"Check the result by adding it back: ${total / 100:.2f} + ${change / 100:.2f} = "
        f"${bill / 100:.2f}, which is exactly what {name} handed over.",
    )
    return q, steps, f"${change / 100:.2f}", f"${(change + _pick(u, (-100, 50, 100))) / 100:.2f}"


def _speed(u: Rand) -> tuple[str, tuple[str, ...], str, str]:
    name, vehicle = _pick(u, NAMES), _pick(u, VEHICLES)
    speed, half_hours = _int(u, 12, 140), _int(u, 2, 17)
    hours = half_hours / 2
    dist = speed * hours
    q = (
        f"{name} watches a {vehicle} cover {dist:g} km in {hours:g} h at a constant pace. "
        "What is its average speed in km/h and in m/s?"
    )
    steps = (
        "Recall that average speed is the total distance divided by the total time taken.",
        f"Substitute the values: speed = {dist:g} km ÷ {hours:g} h = {speed} km/h.",
        f"To convert to metres per second, multiply by 1000 and divide by 3600, which is the "
        f"same as dividing by 3.6: {speed} ÷ 3.6 ≈ {speed / 3.6:.2f} m/s.",
        f"Sanity check: in {hours:g} hours at {speed} km/h the {vehicle} covers "
        f"{speed} × {hours:g} = {dist:g} km, matching the question.",
    )
    return q, steps, f"{speed} km/h (about {speed / 3.6:.2f} m/s)", f"{dist * hours:g} km/h"


def _discount(u: Rand) -> tuple[str, tuple[str, ...], str, str]:
    name, product = _pick(u, NAMES), _pick(u, PRODUCTS)
    price, pct = _int(u, 20, 1500), _pick(u, (5, 10, 15, 20, 25, 30, 35, 40, 45, 50, 60, 70))
    saving = price * pct / 100
    q = f"A {product} costs ${price}. {name} gets a {pct}% discount. What is the sale price?"
    steps = (
        f"Convert the percentage to a decimal: {pct}% = {pct / 100:g}.",
        f"Compute the discount amount: ${price} × {pct / 100:g} = ${saving:.2f}.",
        f"Subtract the discount from the original price: ${price} - ${saving:.2f} = ${price - saving:.2f}.",
        f"Alternatively, {name} pays {100 - pct}% of the price: ${price} × {(100 - pct) / 100:g} "
        f"= ${price - saving:.2f}, which confirms the answer.",
    )
    return q, steps, f"${price - saving:.2f}", f"${saving:.2f}"


def _linear(u: Rand) -> tuple[str, tuple[str, ...], str, str]:
    a, x, b = _int(u, 2, 19), _int(u, -30, 30), _int(u, -60, 60) or 7
    c, name = a * x + b, _pick(u, NAMES)
    q = f"{name} needs to solve for x in the equation {a}x{_signed(b)} = {c}. What is x?"
    steps = (
        f"Isolate the term with x by subtracting {b} from both sides: {a}x = {c} - ({b}) = {c - b}.",
        f"Divide both sides by the coefficient {a}: x = {c - b} ÷ {a} = {x}.",
        f"Substitute back to check: {a} × ({x}){_signed(b)} = {a * x}{_signed(b)} = {c}. ✓",
    )
    return q, steps, f"x = {x}", f"x = {(c + b) / a:.3g}"


def _quadratic(u: Rand) -> tuple[str, tuple[str, ...], str, str]:
    k, r1, r2, name = _int(u, 1, 9), _int(u, -30, 30), _int(u, -30, 30), _pick(u, NAMES)
    b, c = -k * (r1 + r2), k * r1 * r2
    lead = "" if k == 1 else str(k)
    q = f"{name} asks: what are the solutions of {lead}x²{_signed(b, 'x')}{_signed(c)} = 0?"
    disc = b * b - 4 * k * c
    steps = (
        f"Identify the coefficients: a = {k}, b = {b}, c = {c}.",
        f"Compute the discriminant: b² - 4ac = {b * b} - {4 * k * c} = {disc}. It is not "
        "negative, so the equation has real roots.",
        f"Apply the quadratic formula x = (-b ± √(b² - 4ac)) / 2a = ({-b} ± {math.isqrt(disc)}) "
        f"/ {2 * k}, which gives x = {r1} and x = {r2}.",
        f"Verify by factoring: {lead}(x{_signed(-r1)})(x{_signed(-r2)}) expands back to the original polynomial.",
    )
    return q, steps, f"x = {r1} and x = {r2}", f"x = {-r1} and x = {-r2}"


def _system(u: Rand) -> tuple[str, tuple[str, ...], str, str]:
    (v, w), x, y = _pick(u, VARIABLES), _int(u, -40, 40), _int(u, -40, 40)
    k = _int(u, 2, 6)
    q = f"Solve the system of equations {v} + {w} = {x + y} and {k}{v} - {w} = {k * x - y}."
    steps = (
        f"Add the two equations to eliminate {w}: ({v} + {w}) + ({k}{v} - {w}) = "
        f"{x + y} + ({k * x - y}), so {k + 1}{v} = {(k + 1) * x}.",
        f"Divide by {k + 1}: {v} = {x}.",
        f"Substitute {v} = {x} into the first equation: {x} + {w} = {x + y}, so {w} = {y}.",
        f"Check with the second equation: {k} × {x} - ({y}) = {k * x - y}. ✓",
    )
    return q, steps, f"{v} = {x}, {w} = {y}", f"{v} = {y}, {w} = {x}"


def _rectangle(u: Rand) -> tuple[str, tuple[str, ...], str, str]:
    name, place = _pick(u, NAMES), _pick(u, PLACES)
    length = _int(u, 3, 150)
    width = _int(u, 2, length)
    q = (
        f"{name}'s rectangular {place} is {length} m long and {width} m wide. "
        "What are its area, perimeter and diagonal?"
    )
    diag = math.hypot(length, width)
    steps = (
        f"Area = length × width = {length} × {width} = {length * width} m².",
        f"Perimeter = 2 × (length + width) = 2 × ({length} + {width}) = {2 * (length + width)} m.",
        f"By the Pythagorean theorem the diagonal is √({length}² + {width}²) = "
        f"√{length * length + width * width} ≈ {diag:.2f} m.",
    )
    answer = f"area {length * width} m², perimeter {2 * (length + width)} m, diagonal {diag:.2f} m"
    return q, steps, answer, f"area {length * width} m², perimeter {length + width} m"


def _circle(u: Rand) -> tuple[str, tuple[str, ...], str, str]:
    name, thing, r = _pick(u, NAMES), _pick(u, ROUND_THINGS), _int(u, 2, 400) / 2
    q = f"{name} measures a circular {thing} with a radius of {r:g} cm. What is its area?"
    area = math.pi * r * r
    steps = (
        "The area of a circle is A = πr², where r is the radius.",
        f"Square the radius: {r:g}² = {r * r:g}.",
        f"Multiply by π ≈ 3.14159: A ≈ 3.14159 × {r * r:g} ≈ {area:.2f} cm².",
        f"Do not confuse this with the circumference 2πr ≈ {2 * math.pi * r:.2f} cm, which "
        "measures the length around the edge rather than the surface.",
    )
    return q, steps, f"about {area:.2f} cm²", f"about {2 * math.pi * r:.2f} cm²"


def _hypotenuse(u: Rand) -> tuple[str, tuple[str, ...], str, str]:
    name, a, b = _pick(u, NAMES), _int(u, 2, 99), _int(u, 2, 99)
    c = math.hypot(a, b)
    q = f"{name} draws a right triangle with legs {a} cm and {b} cm. How long is the hypotenuse?"
    steps = (
        "By the Pythagorean theorem, c² = a² + b² for a right triangle with legs a and b.",
        f"Square the legs: {a}² = {a * a} and {b}² = {b * b}.",
        f"Add them: c² = {a * a} + {b * b} = {a * a + b * b}.",
        f"Take the square root: c = √{a * a + b * b} ≈ {c:.2f} cm.",
    )
    return q, steps, f"about {c:.2f} cm", f"{a + b} cm"


def _marbles(u: Rand) -> tuple[str, tuple[str, ...], str, str]:
    name = _pick(u, NAMES)
    counts = (_int(u, 1, 30), _int(u, 1, 30), _int(u, 1, 30))
    i = int(u() * 3)
    total, hit = sum(counts), counts[i]
    g = math.gcd(hit, total)
    q = (
        f"A bag holds {counts[0]} red, {counts[1]} blue and {counts[2]} green marbles. "
        f"{name} draws one at random. What is the probability that it is {COLORS[i]}?"
    )
    steps = (
        f"Count all the marbles: {counts[0]} + {counts[1]} + {counts[2]} = {total}.",
        f"There are {hit} {COLORS[i]} marbles, which are the favourable outcomes.",
        f"Probability = favourable / total = {hit}/{total}, which simplifies to "
        f"{hit // g}/{total // g} ≈ {hit / total:.3f}.",
    )
    wrong = f"{hit}/{total - hit}" if total > hit else "1/2"
    return q, steps, f"{hit // g}/{total // g}", wrong


def _derivative(u: Rand) -> tuple[str, tuple[str, ...], str, str]:
    a, n, b, c = _int(u, 1, 9), _int(u, 3, 7), _int(u, -9, 9), _int(u, -20, 20)
    x0 = _int(u, -5, 5)
    value = a * n * x0 ** (n - 1) + 2 * b * x0
    q = f"Find the derivative of f(x) = {a}x^{n}{_signed(b, 'x²')}{_signed(c)} and evaluate f'({x0})."
    steps = (
        "Use the power rule d/dx xⁿ = n·xⁿ⁻¹ on each term; constants differentiate to zero.",
        f"d/dx {a}x^{n} = {a * n}x^{n - 1} and d/dx {b}x² = {2 * b}x, while the constant {c} disappears.",
        f"So f'(x) = {a * n}x^{n - 1}{_signed(2 * b, 'x')}.",
        f"Evaluate at x = {x0}: f'({x0}) = {a * n}·({x0})^{n - 1} + {2 * b}·({x0}) = {value}.",
    )
    return q, steps, f"f'({x0}) = {value}", f"f'({x0}) = {a * x0**n + b * x0 * x0 + c}"


def _integral(u: Rand) -> tuple[str, tuple[str, ...], str, str]:
    a, b, c, top = _int(u, 1, 12), _int(u, -10, 10), _int(u, -10, 10), _int(u, 1, 9)
    value = a * top**3 / 3 + b * top**2 / 2 + c * top
    q = f"Evaluate the definite integral of {a}x²{_signed(b, 'x')}{_signed(c)} from x = 0 to x = {top}."
    steps = (
        f"Find an antiderivative term by term: F(x) = ({a}/3)x³ + ({b}/2)x² + {c}x.",
        f"Evaluate at the upper limit: F({top}) = {a * top**3 / 3:.4g} + {b * top**2 / 2:.4g} "
        f"+ {c * top} = {value:.4g}.",
        "Evaluate at the lower limit: F(0) = 0.",
        f"By the fundamental theorem of calculus the integral is F({top}) - F(0) = {value:.4g}.",
    )
    return q, steps, f"{value:.4g}", f"{a * top**3 + b * top**2 + c * top:.4g}"


def _series(u: Rand) -> tuple[str, tuple[str, ...], str, str]:
    first, d, n, name = _int(u, -20, 40), _int(u, 1, 15), _int(u, 5, 80), _pick(u, NAMES)
    last = first + (n - 1) * d
    total = n * (first + last) // 2
    q = (
        f"{name} writes an arithmetic sequence that starts at {first} with common difference {d}. "
        f"What is the sum of its first {n} terms?"
    )
    steps = (
        "For an arithmetic series, Sₙ = n/2 × (first term + last term).",
        f"Find the last term: aₙ = a₁ + (n - 1)d = {first} + {n - 1} × {d} = {last}.",
        f"Apply the formula: S = {n}/2 × ({first} + {last}) = {total}.",
    )
    return q, steps, str(total), str(n * (first + last))


def _mean(u: Rand) -> tuple[str, tuple[str, ...], str, str]:
    name, k = _pick(u, NAMES), _int(u, 4, 8)
    scores = [_int(u, 45, 100) for _ in range(k)]
    total = sum(scores)
    listed = ", ".join(map(str, scores))
    q = f"{name}'s test scores this term are {listed}. What is the mean score?"
    steps = (
        f"Add all the scores: {' + '.join(map(str, scores))} = {total}.",
        f"Count the scores: there are {k} of them.",
        f"Divide the sum by the count: {total} ÷ {k} = {total / k:.2f}.",
    )
    return q, steps, f"{total / k:.2f}", f"{total / (k - 1):.2f}"


def _interest(u: Rand) -> tuple[str, tuple[str, ...], str, str]:
    name, principal = _pick(u, NAMES), _int(u, 5, 200) * 100
    rate, years = _int(u, 2, 9), _int(u, 2, 15)
    amount = principal * (1 + rate / 100) ** years
    simple = principal * (1 + rate * years / 100)
    q = (
        f"{name} invests ${principal} at {rate}% interest compounded annually. "
        f"How much is the investment worth after {years} years?"
    )
    steps = (
        "Use the compound interest formula A = P(1 + r)ᵗ.",
        f"Here P = {principal}, r = {rate / 100:g} and t = {years}.",
        f"Compute the growth factor: (1 + {rate / 100:g})^{years} ≈ {amount / principal:.4f}.",
        f"Multiply: A ≈ {principal} × {amount / principal:.4f} ≈ ${amount:.2f}.",
    )
    return q, steps, f"${amount:.2f}", f"${simple:.2f}"


def _fractions(u: Rand) -> tuple[str, tuple[str, ...], str, str]:
    a, b, c, d = _int(u, 1, 19), _int(u, 2, 24), _int(u, 1, 19), _int(u, 2, 24)
    num, den = a * d + c * b, b * d
    g = math.gcd(num, den)
    q = f"What is {a}/{b} + {c}/{d} written as a fraction in lowest terms?"
    steps = (
        f"Use the common denominator {b} × {d} = {den}.",
        f"Rewrite both fractions: {a}/{b} = {a * d}/{den} and {c}/{d} = {c * b}/{den}.",
        f"Add the numerators: {a * d} + {c * b} = {num}, giving {num}/{den}.",
        f"Divide numerator and denominator by their greatest common divisor {g}: {num // g}/{den // g}.",
    )
    return q, steps, f"{num // g}/{den // g}", f"{a + c}/{b + d}"


TEMPLATES = (
    _change, _speed, _discount, _linear, _quadratic, _system, _rectangle, _circle,
    _hypotenuse, _marbles, _derivative, _integral, _series, _mean, _interest, _fractions,
)  # fmt: skip


def new_problem(u: Rand) -> Problem:
    question, steps, answer, wrong = _pick(u, TEMPLATES)(u)
    return question + SUFFIX, question, steps, answer, wrong


# --- responses and ratings ---------------------------------------------------------------


def good_response(u: Rand, problem: Problem) -> str:
    # This runs once per row; indexing inline instead of calling _pick saves ~2 s per 1M rows.
    _, question, steps, answer, _ = problem
    label = STEP_LABELS[int(u() * len(STEP_LABELS))]
    parts = [INTROS[int(u() * len(INTROS))], RESTATE[int(u() * len(RESTATE))].format(question)]
    if u() < 0.6:
        parts.append(ASIDES[int(u() * len(ASIDES))])
    for i, step in enumerate(steps, 1):
        if u() < 0.75:
            step = f"{step} {EXPLAIN[int(u() * len(EXPLAIN))]}"
        parts.append(label.format(i) + step)
    if u() < 0.5:
        parts.append(REVIEWS[int(u() * len(REVIEWS))])
    parts.append(CONCLUSIONS[int(u() * len(CONCLUSIONS))].format(answer))
    closing = CLOSINGS[int(u() * len(CLOSINGS))]
    if closing:
        parts.append(closing)
    return "\n\n".join(parts)


def weak_response(u: Rand, problem: Problem) -> str:
    """A worse answer: usually wrong at the end, sometimes just terse or hand-waving."""
    _, question, steps, answer, wrong = problem
    x = u()
    if x < 0.6:  # follows the method but slips: drops the check and ends on a wrong value
        restate = _pick(u, RESTATE).format(question)
        body = "\n\n".join(s + " " + _pick(u, EXPLAIN) if u() < 0.5 else s for s in steps[:-1])
        return f"{_pick(u, INTROS)}\n\n{restate}\n\n{body}\n\n{_pick(u, CONCLUSIONS).format(wrong)}"
    if x < 0.85:  # right answer, little explanation
        restate = _pick(u, RESTATE).format(question)
        conclusion = _pick(u, CONCLUSIONS).format(answer)
        return f"{restate}\n\n{steps[0]} {steps[1]}\n\n{conclusion}"
    vague = f"{_pick(u, VAGUE)} {_pick(u, EXPLAIN)}"
    return f"The answer is {wrong}.\n\n{vague}\n\n{_pick(u, ASIDES)} {_pick(u, REVIEWS)}"


def good_ratings(u: Rand) -> tuple[float, float]:
    """Chosen beats rejected by at least one point; halves are exact in binary floats."""
    chosen = _pick(u, (7.0, 8.0, 8.0, 9.0, 9.0, 9.0, 10.0, 8.5, 9.5, 7.5))
    gap = _pick(u, (1.0, 1.5, 2.0, 2.0, 3.0, 3.0, 4.0, 5.0, 6.0))
    return chosen, max(chosen - gap, 1.0)


def metadata(prompt, chosen, rejected, chosen_rating, rejected_rating) -> str:
    """The source's metadata JSON string; tolerant of the defects we plant (None, strings)."""
    cr, rr = _as_rating(chosen_rating), _as_rating(rejected_rating)
    return (
        f'{{"length-input": {_length(prompt)}, "length-generations-1": {_length(chosen)}, '
        f'"length-generations-2": {_length(rejected)}, "length-generations-3": 0, '
        f'"rating-generations-1": {cr}, "rating-generations-2": {rr}, '
        f'"rating-generations-3": 0.0, "distance-best-rated": {abs(cr - rr)}}}'
    )


def _length(text) -> int:
    return len(text) if isinstance(text, str) else 0


def _as_rating(value) -> float:
    return float(value) if isinstance(value, (int, float)) and value == value else 0.0


def respace(u: Rand, text: str) -> str:
    """Same text after whitespace normalization, different bytes."""
    x = u()
    if x < 0.25:
        return text + " "
    if x < 0.5:
        return "  " + text
    if x < 0.75:
        return text.replace(" ", "  ", 1)
    return text.replace("\n\n", "\n\n\n", 1) + "\n"


SCENES = (
    "is planning a {} for the {} club", "is helping a neighbour with a {} in the {}",
    "writes a blog post about a {} at the {}", "is preparing a {} for the {} fair",
    "runs a small {} next to the {}", "is studying for a {} at the {}",
)  # fmt: skip
EVENTS = (
    "bake sale", "garden project", "bike repair", "science quiz", "craft stall", "book swap", "chess evening",
    "photo contest", "charity run", "board game night", "recycling drive", "coding workshop",
)  # fmt: skip
VENUES = ("library", "school", "town hall", "harbour", "community centre", "market", "museum", "sports hall")


def with_scene(u: Rand, problem: Problem) -> Problem:
    """The prompt with a one-sentence scene first, as real questions carry context. Without it, two problems
    from one template differ in a name and a number, and most prompts would be near-duplicates of others."""
    scene = f"{_pick(u, NAMES)} {_pick(u, SCENES).format(_pick(u, EVENTS), _pick(u, VENUES))} on day {_int(u, 1, 365)}."
    return (f"{scene} {problem[0]}", *problem[1:])


def reword(u: Rand, prompt: str) -> str:
    """A near-duplicate of a prompt: a lead-in added, one number changed, or other spacing and punctuation."""
    x = u()
    if x < 0.3:
        return _pick(u, ("Question: ", "Please help me with this. ", "Homework: ", "Quick one: ")) + prompt
    if x < 0.6:
        digit = next((i for i, c in enumerate(prompt) if c.isdigit()), None)
        return prompt if digit is None else f"{prompt[:digit]}{(int(prompt[digit]) + 1) % 10}{prompt[digit + 1 :]}"
    return prompt.replace(" ", "  ").replace(". ", " . ").replace("?", " ?")


# Benchmark-like items (GSM8K style), worded unlike the rows above so that only planted items match.
BENCH_TEMPLATES = (
    "A farmer has {a} cows and buys {b} more each month. After {c} months he sells {d} of them. How many cows "
    "does the farmer have left?",
    "{n} saves ${a} every week for {b} weeks and then spends ${c} on a present for {m}. How much money does "
    "{n} still have?",
    "A train leaves the station with {a} passengers. At the first stop {b} people get off and {c} get on. At the "
    "second stop half of the passengers get off. How many passengers remain on the train?",
    "{n} is {a} years older than {m}. In {b} years, {n} will be twice as old as {m} was {c} years ago. How old "
    "is {m} now?",
    "A rectangular swimming pool is {a} feet long, {b} feet wide and {c} feet deep. How many cubic feet of water "
    "does it hold when it is filled to the top?",
    "{n} bakes {a} trays of cookies with {b} cookies on each tray. {m} eats {c} cookies and the rest are shared "
    "equally among {d} friends. How many cookies does each friend get?",
    "The price of a concert ticket rose from ${a} to ${b}. By what percent did the price increase, to the nearest "
    "whole percent, if {n} bought {c} tickets at the new price?",
    "A school orders {a} boxes of pencils with {b} pencils in each box. Each of the {c} classes receives the same "
    "number of pencils. How many pencils does each class receive, and how many are left over?",
)


def benchmark_items(count: int, seed: int = 1) -> list[str]:
    """`count` distinct benchmark-like questions (the same for the same seed)."""
    u = random.Random(seed).random
    items: dict[str, None] = {}
    while len(items) < count:
        template = _pick(u, BENCH_TEMPLATES)
        numbers = {k: _int(u, 2, 90) for k in "abcd"}
        items[template.format(n=_pick(u, NAMES), m=_pick(u, NAMES), **numbers)] = None
    return list(items)


# --- rows --------------------------------------------------------------------------------


class RowFactory:
    """Stateful row source: rows depend only on the seed and their position."""

    def __init__(self, seed: int = 0) -> None:
        self.u = random.Random(seed).random
        self.recent_rows: list[list] = []
        self.recent_problems: list[Problem] = []
        self.items: list[str] | None = None
        self.count = 0
        self.cuts = _cumulative(RATES)

    def clean(self, problem: Problem) -> list:
        u = self.u
        cr, rr = good_ratings(u)
        return [problem[0], good_response(u, problem), weak_response(u, problem), cr, rr]

    def row(self) -> tuple:
        u, recent = self.u, self.recent_rows
        x = u()
        if x < self.cuts["duplicate_pair"] and recent:
            fields = list(_pick(u, recent))
            if u() < 0.5:
                i = int(u() * 3)
                fields[i] = respace(u, fields[i])
        elif x < self.cuts["repeated_prompt"] and recent:
            fields = self.clean(_pick(u, self.recent_problems))
            if u() < 0.2:
                fields[0] = respace(u, fields[0])
        elif x < self.cuts["near_duplicate"] and self.cuts["too_long"] <= x and recent:
            fields = self.clean(_pick(u, self.recent_problems))
            fields[0] = reword(u, fields[0])
        else:
            problem = with_scene(u, new_problem(u))
            fields = self.clean(problem)
            self._remember_problem(problem)
            self._plant(x, fields)
            if self.cuts["near_duplicate"] <= x < self.cuts["contaminated"]:
                self._leak(fields)
        self._remember_row(fields)
        self.count += 1
        return _ordered(fields)

    def _plant(self, x: float, f: list) -> None:
        """Turn a clean row into the defect that x falls on (if any)."""
        u, cuts = self.u, self.cuts
        if x < cuts["tie"]:
            f[4] = f[3]
        elif x < cuts["inverted"]:
            f[3], f[4] = f[4], f[3]
        elif x < cuts["small_gap"]:
            f[4] = f[3] - _pick(u, (0.5, 0.25, 0.75))
        elif x < cuts["identical"]:
            f[2] = f[1] if u() < 0.5 else respace(u, f[1])
        elif x < cuts["empty"]:
            f[int(u() * 3)] = _pick(u, ("", " ", "\n", "  \n "))
        elif x < cuts["control_token"]:
            i = int(u() * 3)
            f[i] = "<|im_start|>user\n" + f[i] if i == 0 else f[i] + "<|im_end|>"
        elif x < cuts["null_rating"]:
            f[3 + int(u() * 2)] = None
        elif x < cuts["nan_rating"]:
            f[3 + int(u() * 2)] = math.nan
        elif x < cuts["too_long"]:
            f[1] = pad_to(f[1], LONG_TEXT_CHARS + 500 + int(u() * 4000))

    def _leak(self, f: list) -> None:
        """Put a benchmark item in the prompt, the chosen or the rejected text."""
        u = self.u
        if self.items is None:
            self.items = benchmark_items(BENCHMARK_ITEMS)
        item, where = _pick(u, self.items), int(u() * 3)
        if where == 0:
            f[0] = item + SUFFIX
        elif where == 1:
            f[1] += f"\n\nThis is the same as a problem I have seen before: {item}"
        else:
            f[2] = f"Compare: {item}\n\n{f[2]}"

    def _remember_row(self, fields: list) -> None:
        slot = self.count % RECENT
        if slot < len(self.recent_rows):
            self.recent_rows[slot] = fields
        else:
            self.recent_rows.append(fields)

    def _remember_problem(self, problem: Problem) -> None:
        if len(self.recent_problems) < RECENT:
            self.recent_problems.append(problem)
        else:
            self.recent_problems[self.count % RECENT] = problem


def _ordered(f: list) -> tuple:
    """fields [prompt, chosen, rejected, chosen_rating, rejected_rating] -> COLUMNS order."""
    return (metadata(*f), f[0], f[1], f[3], f[2], f[4])


def _cumulative(rates: dict[str, float]) -> dict[str, float]:
    total, cuts = 0.0, {}
    for name, rate in rates.items():
        total += rate
        cuts[name] = total
    return cuts


def pad_to(text: str, chars: int) -> str:
    """Make a runaway answer: the text repeated as 'further checks' until it is `chars` long."""
    parts = [text]
    size = len(text)
    while size < chars:
        parts.append(f"Let me double-check this once more.\n\n{text}")
        size += len(parts[-1]) + 2
    return "\n\n".join(parts)


def generate_chunks(n: int, seed: int = 0, chunk: int = 20_000) -> Iterator[dict[str, list]]:
    """Column-oriented chunks of the same rows generate_rows(n, seed) returns.

    20k rows (~25 MB of text) per chunk: small enough to keep memory flat, large enough that
    each chunk is a sensible parquet row group."""
    factory = RowFactory(seed)
    done = 0
    while done < n:
        size = min(chunk, n - done)
        columns = list(zip(*(factory.row() for _ in range(size)), strict=True))
        yield {name: list(col) for name, col in zip(COLUMNS, columns, strict=True)}
        done += size


def generate_rows(n: int, seed: int = 0) -> list[dict]:
    factory = RowFactory(seed)
    return [dict(zip(COLUMNS, factory.row(), strict=True)) for _ in range(n)]


# --- writing -----------------------------------------------------------------------------


def write_benchmark(out: Path, count: int = BENCHMARK_ITEMS) -> None:
    """The benchmark file rows were contaminated from: JSONL with a `question` column."""
    lines = (json.dumps({"question": q}, ensure_ascii=False) + "\n" for q in benchmark_items(count))
    out.write_text("".join(lines), encoding="utf-8")


def write(n: int, out: Path, seed: int = 0) -> None:
    if out.suffix == ".jsonl":
        _write_jsonl(n, out, seed)
    elif out.suffix == ".parquet":
        _write_parquet(n, out, seed)
    else:
        raise SystemExit(f"error: {out} must end in .parquet or .jsonl")


def _write_parquet(n: int, out: Path, seed: int) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = pa.schema([(c, pa.float64() if c.endswith("rating") else pa.string()) for c in COLUMNS])
    # Compression and I/O release the GIL: writing chunk k overlaps generating chunk k+1.
    with pq.ParquetWriter(out, schema) as writer, ThreadPoolExecutor(1) as pool:
        pending = None
        for columns in generate_chunks(n, seed):
            table = pa.table(columns, schema=schema)
            if pending is not None:
                pending.result()
            pending = pool.submit(writer.write_table, table)
        if pending is not None:
            pending.result()


def _write_jsonl(n: int, out: Path, seed: int) -> None:
    with out.open("w", encoding="utf-8", newline="\n") as fh:
        for columns in generate_chunks(n, seed):
            for values in zip(*columns.values(), strict=True):
                row = {k: _json_safe(v) for k, v in zip(COLUMNS, values, strict=True)}
                fh.write(json.dumps(row, ensure_ascii=False, allow_nan=False) + "\n")


def _json_safe(value):
    # JSON has no NaN (polars rejects the bare token); the string "NaN" is still not a number
    # under the rules, so the row drops for the same reason as in parquet.
    return "NaN" if isinstance(value, float) and math.isnan(value) else value


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("rows", type=int, help="number of rows")
    parser.add_argument("out", type=Path, help="OUT.parquet or OUT.jsonl")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    start = time.perf_counter()
    write(args.rows, args.out, args.seed)
    took = time.perf_counter() - start
    print(f"wrote {args.rows:,} rows to {args.out} in {took:.1f} s", file=sys.stderr)


if __name__ == "__main__":
    main()
