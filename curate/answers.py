"""Final answers of math responses: extraction, agreement between a pair, correctness against a reference.

The core of answer-aware curation (issue 13), as a library with no pipeline wiring:

- `final_answer(response)` finds the answer in the *conclusion* of a response: the last `\\boxed{}`, else a GSM8K
  `#### x` line, else the last sentence holding "the answer is", "final answer", "the result is" or
  "therefore/so/thus/hence ... =", else a trailing `= x` in the last sentence that is not a pleasantry. Sentences such
  as "Let me know if you have 2 more questions" hold no anchor and are never read as answers. The answer text is cut
  into parts ("x = 3 and x = -2", "area 120 m², perimeter 44 m"), each with an optional label (`x`, `area`, `f'(2)`)
  and a value with units, "about" and money signs removed.
- Values that are plain numbers (integers, decimals, digit commas, money, percentages, simple fractions a/b) are
  compared by a fast path in pure Python that gives math-verify's verdicts (tested against it with hypothesis);
  everything else goes to math-verify's `parse`/`verify` in worker processes with a per-item budget.
- `agreement()` is three-valued: `same` (both sides parse and verify holds both ways for every part), `different`
  (both parse and some part does not verify), `undetermined` (anything else: nothing found, a conceptual answer, a
  timeout, a partial answer, a known math-verify false positive).
- `correctness()` compares against a reference, gold first as math-verify intends (verify is asymmetric).
- `answer_columns()` is the column API for the pipeline: same input, same output, whatever the worker timing.

math-verify is an optional extra (`pip install curate[answers]`) and is imported only inside the functions that need it;
plain-number data never imports it at all.

Timeouts. math-verify's own timeouts use `signal.alarm`, which fails outside the main thread, so they are off here
(`parsing_timeout=None`, `timeout_seconds=None`). Each item that needs math-verify runs in a worker process under a
CPU-time budget (`setitimer(ITIMER_PROF)`, `item_timeout` seconds of the worker's own CPU, so other processes on the
machine do not eat into it); a worker that does not answer within a wall-clock backstop (4x the budget + 5 s: stuck in
C code) is killed and restarted. Either way the item is `undetermined` and counted in `stats["timeouts"]`. Only
hitting the budget depends on machine speed: the default (5 s) is 20x the slowest ordinary symbolic comparison measured
here (~230 ms), plain numbers never reach it, and a build records its timeouts, so a result that depends on speed is
visible instead of silent.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import re
import threading
import time
from dataclasses import dataclass
from fractions import Fraction
from typing import Literal

Agreement = Literal["same", "different", "undetermined"]
Correctness = Literal["correct", "incorrect", "undetermined"]

DEFAULT_ITEM_TIMEOUT = 5.0  # seconds of worker CPU per pair (all parses and verifies of it together)
CHUNK = 32  # items sent to a worker at a time
_BACKSTOP = (4.0, 5.0)  # a worker silent for 4x the budget + 5 s of wall time is stuck (in C code): killed


@dataclass(frozen=True)
class Part:
    """One value of a final answer: `x = 3` is Part('x', '3'); `area 120 m²` is Part('area', '120')."""

    label: str  # '' when the value stands alone
    text: str  # the value as fed to the comparison (units, "about", money sign removed)


@dataclass(frozen=True)
class Extracted:
    """A response's final answer: where it was found and what it says."""

    span: str  # the sentence (or `\\boxed{...}`) of the response the answer was taken from, for the explain view
    answer: str  # the answer text within the span, as written
    parts: tuple[Part, ...]  # its values; several for "x = 3 and x = -2"
    how: str  # which rule found it: boxed, hashes, anchor, so_equals, trailing_equals

    @property
    def values(self) -> tuple[str, ...]:
        """Each part's parsed value: the fast path's canonical number, else math-verify's parse (see `parsed`)."""
        return tuple(parsed(p.text) for p in self.parts)


# --- extraction ------------------------------------------------------------------------------------------------

_BOXED = re.compile(r"\\(?:boxed|fbox)\s*\{")
_HASHES = re.compile(r"^\s*####\s*(.+?)\s*$", re.M)
_SENTENCE_END = re.compile(r"(?<=[.!?✓])\s+(?=[^a-z0-9\s])|\n+")
_SENTENCE_END_FAST = re.compile(r"\n+|[.!?]\s+(?=[A-Z])")  # for the tail: no look-behind, twice as fast
# "the answer is X", "final answer: X", "the result is X", "the solutions are X"
_ANCHOR = re.compile(
    r"\b(?:final\s+answer|(?:the\s+)?answer|the\s+(?:final\s+)?(?:result|solutions?|value))\s*"
    r"(?:is|are|was|would\s+be|will\s+be|:|=)\s*(?::\s*)?(?P<ans>.+)$",
    re.I | re.S,
)
_SO_EQ = re.compile(r"^.*\b(?:therefore|thus|hence|so)\b(?P<rest>.*=.*)$", re.I | re.S)  # the last anchor
_ASSIGNMENT = re.compile(r"^[A-Za-z](?:_\w+)?'*(?:\([^()=]*\))?\s*=")
# "Therefore, the probability is 1/4", "So the total cost is $12"
_SO_IS = re.compile(
    r"\b(?:therefore|thus|hence|so)\b,?\s+(?:the\s+)?[A-Za-z' ]{0,40}?\s(?:is|are|equals|comes\s+to)\s+(?P<ans>.+)$",
    re.I | re.S,
)
_PLEASANTRY = re.compile(
    r"let me know|hope (?:this|that|it) helps|feel free|any (?:other|more|further) questions|don'?t hesitate|"
    r"happy to help|good luck|remember to|keep in mind|if anything is unclear|questions?\b.*\?|^\(units:",
    re.I,
)
_MATH_DELIMS = re.compile(r"^\s*(?:\$\$|\$|\\\(|\\\[)(?P<body>.*?)(?:\$\$|\$|\\\)|\\\])\s*$", re.S)


def _boxed(text: str) -> tuple[str, str] | None:
    """The last `\\boxed{...}` (braces balanced) as (span, content)."""
    matches = list(_BOXED.finditer(text))
    for m in reversed(matches):
        depth, i = 1, m.end()
        while i < len(text) and depth:
            depth += {"{": 1, "}": -1}.get(text[i], 0)
            i += 1
        if depth == 0:
            return text[m.start() : i], text[m.end() : i - 1]
    return None


def _sentences(text: str) -> list[str]:
    return [s.strip() for s in _SENTENCE_END.split(text) if s and s.strip()]


def _candidates(response: str):
    """(span, answer text, rule, strong) from the conclusion backwards. A strong anchor (boxed, ####, "the answer
    is") ends the search even when what follows is no value ("the answer is that it depends"); a weak one ("so ... is",
    "so ... =") that holds no value lets the search go on to earlier sentences."""
    boxed = _boxed(response)
    if boxed:
        yield boxed[0], boxed[1], "boxed", True
        return
    hashes = _HASHES.findall(response)
    if hashes:
        yield "#### " + hashes[-1], hashes[-1], "hashes", True
        return
    # The conclusion is at the end: read the last 400 characters first (the cut sentence at their start dropped),
    # and the whole text only when they hold no value.
    tail = response[-_TAIL:]
    if len(tail) < len(response):
        sentences = [x.strip() for x in _SENTENCE_END_FAST.split(tail)[1:] if x and not x.isspace()]
        yield from _scan(sentences)  # the caller stops at the first that holds a value
    yield from _scan(_sentences(response))


_TAIL = 400


def _scan(sentences: list[str]):
    for sentence in reversed(sentences):
        if _PLEASANTRY.search(sentence):
            continue
        m = _ANCHOR.search(sentence)
        if m:
            answer = m.group("ans")
            while (inner := _ANCHOR.search(answer)) is not None:  # "Final Answer: The final answer is $5$"
                answer = inner.group("ans")
            yield sentence, answer, "anchor", True
            return
        m = _SO_IS.search(sentence)
        if m and "=" not in m.group("ans"):
            yield sentence, m.group("ans"), "anchor", False
        m = _SO_EQ.search(sentence)
        if m:
            rest = m.group("rest").lstrip(" ,:")
            if _ASSIGNMENT.match(rest):  # "so x = 4 or x = -4": the assignments
                yield sentence, rest, "so_equals", False
            else:
                yield sentence, rest.rsplit("=", 1)[1], "so_equals", False  # "so 6m = -180": the value
    for sentence in reversed(sentences):
        if _PLEASANTRY.search(sentence):
            continue
        if "=" in sentence:
            yield sentence, sentence.rsplit("=", 1)[1], "trailing_equals", False
        return


# Cleaning of an answer text into parts.
_ASIDE = re.compile(
    r"\s*\((?:about|approx\w*|roughly|around|or|i\.e\.|that is|which|rounded|≈|~)[^()]*\)|"
    r",?\s+(?:which|because|since|as|where|when|so that|rounded|to the nearest)\b.*$",
    re.I | re.S,
)
_FILLER = re.compile(
    r"^(?:(?:about|approximately|approx\.?|roughly|around|exactly|equal\s+to|simply|just|that|≈|~|:)\s*)+", re.I
)
_UNIT_WORD = (
    r"(?:cm|mm|km|m|kg|mg|g|l|ml|h|hrs?|hours?|min|minutes?|s|sec|seconds?|days?|weeks?|months?|years?|ft|feet|"
    r"foot|in|inches|inch|yd|yards?|mi|miles?|mph|km/h|m/s|cm/s|kph|units?|square|cubic|sq|meters?|metres?|"
    r"centimeters?|centimetres?|kilometers?|kilometres?|grams?|kilograms?|liters?|litres?|degrees?|°|dollars?|"
    r"cents?|euros?|pounds?|percent|people|students|marbles|apples|items|cookies|books|pages|times|tickets|cows|"
    r"passengers|pencils|friends|boxes|eggs)"
)
_UNITS = re.compile(rf"(?:\s*(?:{_UNIT_WORD}(?:\^?[²³23])?|°|%(?=\s+\w))|\s+[a-z]{{3,}})+\s*$", re.I)
_LATEX_UNITS = re.compile(r"\\(?:text|mbox|mathrm)\s*\{\s*[^{}]*\}\s*$")
_NUM = r"[-+]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?"
_PLAIN = re.compile(r"^(?P<num>-?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?)(?P<pct>%)?$|^(?P<p>-?\d+)/(?P<q>\d+)$")
_LABEL = re.compile(
    r"^(?P<label>[A-Za-z][A-Za-z_]*'*(?:_\{?\w+\}?)?(?:\([^()=]*\))?|[A-Za-z]+(?:\s+[A-Za-z]+){0,3})"
    r"\s*(?:=|:|\bis\b|\bof\b)\s*(?P<value>.+)$|^(?P<word>[A-Za-z]{3,}(?:\s+[A-Za-z]{3,}){0,2})\s+(?P<wvalue>[-+$\d].*)$",
    re.S,
)
_PROSE = re.compile(r"(?<!\\)\b[A-Za-z]{3,}\b(?:\s+|,\s*)\b[A-Za-z]{2,}\b")
_LATEX_CMDS = re.compile(r"\\[A-Za-z]+")


_SEPARATORS = re.compile(r", and |, or | and | or |, |; ")


def _split_top(text: str) -> list[str]:
    """Split on ', ', '; ', ' and ' and ' or ' outside brackets and `$...$`."""
    if not any(c in text for c in "([{$"):
        return [p.strip() for p in _SEPARATORS.split(text) if p.strip()]
    out, depth, start, i, in_math = [], 0, 0, 0, False
    while i < len(text):
        c = text[i]
        if c in "([{":
            depth += 1
        elif c in ")]}":
            depth = max(0, depth - 1)
        elif c == "$" and (i + 1 >= len(text) or not text[i + 1].isdigit() or in_math):
            in_math = not in_math
        if depth == 0 and not in_math:
            for sep in (", and ", " and ", ", or ", " or ", ", ", "; "):
                if text.startswith(sep, i):
                    out.append(text[start:i])
                    i += len(sep)
                    start = i
                    break
            else:
                i += 1
                continue
            continue
        i += 1
    out.append(text[start:])
    return [p.strip() for p in out if p.strip()]


def _clean_value(value: str) -> str | None:
    """The comparable text of one value, or None when it is not a mathematical value."""
    v = value.strip().replace("−", "-").replace("–", "-").replace("**", "").replace("\u00a0", " ")
    v = re.sub(r"[.;,!]+$", "", v).strip()
    m = _MATH_DELIMS.match(v)
    if m and "$" not in m.group("body"):
        v = m.group("body").strip()
    v = _FILLER.sub("", v).strip()
    v = re.sub(r"^-\s*\$(?=\d)", "-", v)  # -$12.50
    v = re.sub(r"^\$(?=-?\d)", "", v)  # $12.50, $-3
    v = re.sub(r"^\\\$\s*(?=-?\d)", "", v)  # \$12.50 in LaTeX
    for _ in range(3):
        stripped = _LATEX_UNITS.sub("", _UNITS.sub("", v)).strip()
        if stripped == v:
            break
        v = stripped
    v = v.rstrip(".").strip()
    if not v or not re.search(r"\d|\\(?:frac|sqrt|pi|infty)|^[a-z]$", v):
        return None
    if _PROSE.search(_LATEX_CMDS.sub(" ", re.sub(r"\\text\{[^{}]*\}", " ", v))):
        return None  # words, not a value: "it depends on the context"
    return v


def _parts(answer: str) -> tuple[Part, ...] | None:
    text = _ASIDE.sub("", answer.strip())
    m = _MATH_DELIMS.match(text.rstrip(".").strip())
    if m and "$" not in m.group("body"):
        text = m.group("body")
    text = text.strip().rstrip(".").strip()
    parts = []
    for piece in _split_top(text):
        piece = _FILLER.sub("", piece).strip()
        label, value = "", piece
        m = _LABEL.match(piece)
        if m:
            if m.group("label"):
                label, value = m.group("label").strip(), m.group("value")
            else:
                label, value = m.group("word").strip(), m.group("wvalue")
        if "=" in value:
            lhs, rhs = value.rsplit("=", 1)
            if not re.search(r"[A-Za-z]", _LATEX_CMDS.sub("", lhs)):
                value = rhs  # a chain "2 × 3 + 4 = 10": the value is its end
            # else an equation ("x + y = 5"): kept whole, compared by math-verify, never `same` unless identical
        cleaned = _clean_value(value)
        if cleaned is None:
            return None
        parts.append(Part(label, cleaned))
    return tuple(parts) or None


def final_answer(response: str | None) -> Extracted | None:
    """The final answer of a response, from its conclusion; None when there is none (conceptual, no anchor)."""
    if not isinstance(response, str) or not response.strip():
        return None
    for span, answer, how, strong in _candidates(response):
        parts = _parts(answer)
        if parts is not None:
            return Extracted(span=span.strip(), answer=answer.strip().rstrip("."), parts=parts, how=how)
        if strong:
            return None
    return None


def reference_answer(text: str | None) -> Extracted | None:
    """A reference answer: GSM8K's `... #### 42`, a bare value (`42`, `\\frac{1}{2}`), or a worked solution."""
    if not isinstance(text, str) or not text.strip():
        return None
    if "####" not in text and "\\boxed" not in text:
        parts = _parts(text.strip())
        if parts is not None and len(text) < 200:
            return Extracted(span=text.strip(), answer=text.strip(), parts=parts, how="bare")
    return final_answer(text)


# --- the fast path: plain numbers ------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Num:
    value: Fraction  # the exact value, percent applied (50% -> 1/2)
    kind: str  # 'int', 'float' or 'rational' as sympy would type it (before the percent)
    raw: Fraction  # the value before the percent
    pct: bool


def _fast(text: str) -> _Num | None:
    """A plain number as math-verify would parse it, or None when it is not one."""
    m = _PLAIN.match(text)
    if m is None:
        return None
    if m.group("num") is not None:
        digits = m.group("num").replace(",", "")
        raw = Fraction(digits)
        kind = "float" if "." in digits else "int"
        pct = m.group("pct") is not None
        return _Num(raw / 100 if pct else raw, kind, raw, pct)
    q = int(m.group("q"))
    if q == 0:
        return None
    raw = Fraction(int(m.group("p")), q)
    return _Num(raw, "int" if raw.denominator == 1 else "rational", raw, False)


_TOLERANCE = Fraction(1, 10**5)  # values closer than this may round together at 6 decimals: leave them to math-verify


def _fast_equal(gold: _Num, target: _Num) -> bool | None:
    """math-verify's verdict for two plain numbers, or None where only math-verify can say (rounding ties)."""
    if gold.pct != target.pct:
        # math-verify: 9% == 9 (integers), 12.5% == 12.5 (its extracted strings match) but 12.50% != 12.5 and
        # 50% == 0.5: rules of string form, left to it
        return None
    if gold.value == target.value:
        return True
    if "float" in (gold.kind, target.kind):
        # Rounded to 6 decimals: equal values agree, values far apart never do, near ones go to math-verify.
        return None if abs(gold.value - target.value) < _TOLERANCE else False
    return False


def parsed(text: str) -> str:
    """The parsed value of one part as a string (for the explain view): the fast path's, else math-verify's."""
    num = _fast(text)
    if num is not None:
        v = num.value
        return str(v.numerator) if v.denominator == 1 else f"{v.numerator}/{v.denominator}"
    try:
        result = _mv_parse(text)
    except Exception:  # noqa: BLE001 - the explain view must not fail on one odd value
        return "?"
    return str(result[0]) if result else "?"


# --- math-verify (in worker processes) -------------------------------------------------------------------------


def _mv_input(text: str) -> str:
    """What math-verify is given for a value: plain numbers as they are, anything else as LaTeX ($2x$ is 2*x)."""
    if _fast(text) is not None or re.fullmatch(_NUM + r"%?", text):
        return text
    return f"${text}$"


_QUIET = False


def _quiet() -> None:
    """math-verify warns once that its own timeouts are off: we know, we enforce ours."""
    global _QUIET
    if not _QUIET:
        import logging

        for name in ("math_verify", "math_verify.grader", "math_verify.parser", "latex2sympy2_extended"):
            logging.getLogger(name).setLevel(logging.ERROR)
        _QUIET = True


def _mv_parse(text: str) -> list:
    from math_verify import parse

    _quiet()
    return parse(_mv_input(text), parsing_timeout=None)


def _mv_verify(gold: list, target: list) -> bool:
    from math_verify import verify

    _quiet()
    return verify(gold, target, timeout_seconds=None)


class _Budget(BaseException):
    """Raised by the CPU-time alarm inside a worker; a BaseException so math-verify's `except Exception` misses it."""


class _Comparer:
    """Part-level comparison with fast path or math-verify, caching parses within one item."""

    def __init__(self, use_fast: bool = True):
        self.use_fast = use_fast
        self.cache: dict[str, list] = {}

    def _parse(self, text: str) -> list:
        if text not in self.cache:
            self.cache[text] = _mv_parse(text)
        return self.cache[text]

    def equal(self, gold: str, target: str) -> bool | None:
        """Does target verify against gold? None: not comparable (nothing parsed, known false positive)."""
        if self.use_fast:
            a, b = _fast(gold), _fast(target)
            if a is not None and b is not None:
                verdict = _fast_equal(a, b)
                if verdict is not None:
                    return verdict
        pg, pt = self._parse(gold), self._parse(target)
        if not pg or not pt:
            return None
        result = _mv_verify(pg, pt)
        if result and gold != target and ("!" in gold or "!" in target or "=" in gold or "=" in target):
            return None  # math-verify #14 (1/2004! == 1/2006!) and #60 (equations that both parse to 0)
        return result

    def same(self, a: str, b: str) -> bool | None:
        """Both directions (agreement)."""
        ab = self.equal(a, b)
        if ab is None:
            return None
        ba = self.equal(b, a)
        if ba is None:
            return None
        return ab and ba


def _needs_mv(parts: tuple[Part, ...] | None) -> bool:
    return parts is not None and any(_fast(p.text) is None for p in parts)


def _match_group(gold: list[str], target: list[str], eq) -> str:
    """Two lists of values as multisets: every gold value must meet an equal target value."""
    if len(gold) != len(target):
        return "undetermined"  # a partial answer: which values pair up cannot be told
    pending = list(target)
    for g in gold:
        hit, unknown = None, False
        for j, t in enumerate(pending):
            r = eq(g, t)
            if r is None:
                unknown = True
            elif r:
                hit = j
                break
        if hit is None:
            return "undetermined" if unknown else "different"
        pending.pop(hit)
    return "same"


def _match(gold: tuple[Part, ...], target: tuple[Part, ...], eq) -> str:
    """'same', 'different' or 'undetermined' for two answers, part by part; `eq(a, b)` compares two values.

    One value each: compared, labels ignored ("x = 5" is "5"). Labelled on both sides ("area 120 m², perimeter
    44 m"): values compared per label; a label with other values on the two sides makes them different, a label on one
    side only (a partial answer) undetermined. Otherwise the values are compared as multisets ("x = 3 and x = -2")."""
    if len(gold) == 1 and len(target) == 1:
        r = eq(gold[0].text, target[0].text)
        return "undetermined" if r is None else ("same" if r else "different")
    if all(p.label for p in gold) and all(p.label for p in target):
        labels = sorted({p.label for p in gold} | {p.label for p in target})
        verdicts = []
        for label in labels:
            g = [p.text for p in gold if p.label == label]
            t = [p.text for p in target if p.label == label]
            verdicts.append(_match_group(g, t, eq) if g and t else "undetermined")
        if "different" in verdicts:
            return "different"
        return "undetermined" if "undetermined" in verdicts else "same"
    return _match_group([p.text for p in gold], [p.text for p in target], eq)


def _compare_item(item: tuple, use_fast: bool = True) -> tuple[str, str | None, str | None]:
    """(agreement, chosen_correct, rejected_correct) for one pair of part tuples and an optional reference."""
    chosen, rejected, reference, has_ref = item
    c = _Comparer(use_fast)
    agreement = "undetermined" if chosen is None or rejected is None else _match(chosen, rejected, c.same)
    if not has_ref:
        return agreement, None, None
    verdicts = []
    for parts in (chosen, rejected):
        if reference is None or parts is None:
            verdicts.append("undetermined")
            continue
        r = _match(reference, parts, c.equal)  # gold first
        verdicts.append({"same": "correct", "different": "incorrect"}.get(r, "undetermined"))
    return agreement, verdicts[0], verdicts[1]


_TIMEOUT = ("undetermined", "undetermined", "undetermined")
PARALLEL_EXTRACT = 4096  # from this many responses on, extraction runs in the workers too (both cores)
_EXTRACT_BATCH = 512


def _do(item: tuple):
    """A worker's job: ("extract", texts) -> final answers, or a comparison item -> its verdicts."""
    if item[0] == "extract":
        return [final_answer(t) for t in item[1]]
    return _compare_item(item)


def _extract_all(texts: list, workers: int, item_timeout: float) -> list[Extracted | None]:
    """final_answer of every text, in the workers when there are many (regex work, split across both cores)."""
    if workers < 2 or len(texts) < PARALLEL_EXTRACT:
        return [final_answer(t) for t in texts]
    batches = [(i, ("extract", texts[i : i + _EXTRACT_BATCH])) for i in range(0, len(texts), _EXTRACT_BATCH)]
    local = _new_stats()
    with _POOL_LOCK:
        results = _pool(workers, item_timeout).run(batches, local)
    failed = set(local["timeouts"]) | set(local["errors"])
    out: list[Extracted | None] = []
    for i, (_, texts_i) in batches:
        # a batch that failed in a worker (never seen: regex work) is redone here, so the result does not change
        out.extend([final_answer(t) for t in texts_i] if i in failed else results[i])
    return out


def _worker_main(conn, budget: float) -> None:  # pragma: no cover - runs in a child process
    import signal

    def alarm(signum, frame):
        raise _Budget

    signal.signal(signal.SIGPROF, alarm)
    _quiet()
    _mv_parse("1")  # warm up: imports sympy and the LaTeX grammar before the first budget starts
    conn.send(("ready", ("ok", None)))
    while True:
        try:
            batch = conn.recv()
        except EOFError:
            return
        if batch is None:
            return
        for index, item in batch:
            try:
                signal.setitimer(signal.ITIMER_PROF, budget)
                try:
                    result = ("ok", _do(item))
                finally:
                    signal.setitimer(signal.ITIMER_PROF, 0)
            except _Budget:
                result = ("timeout", None)
            except Exception as e:  # noqa: BLE001 - one odd item must not end the build
                result = ("error", repr(e)[:200])
            conn.send((index, result))


class _Worker:
    """A worker process: a fresh interpreter (`python -c`), not multiprocessing, so that callers need no
    `if __name__ == "__main__"` guard and nothing is forked from a process that may hold polars' threads."""

    def __init__(self, budget: float):
        import socket
        import subprocess
        import sys
        from multiprocessing.connection import Connection

        parent, child = socket.socketpair()
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
        code = f"from curate.answers import _serve; _serve({child.fileno()}, {budget!r})"
        self.proc = subprocess.Popen([sys.executable, "-c", code], pass_fds=(child.fileno(),), env=env)
        child.close()
        self.conn = Connection(parent.detach())
        self.ready = False
        self.batch: list = []
        self.pos = 0
        self.since = time.monotonic()

    def alive(self) -> bool:
        return self.proc.poll() is None

    def kill(self) -> None:
        if self.alive():
            self.proc.kill()
        self.proc.wait(10)
        self.conn.close()


def _serve(fd: int, budget: float) -> None:  # pragma: no cover - runs in the worker process
    from multiprocessing.connection import Connection

    _worker_main(Connection(fd), budget)


class _Pool:
    """Worker processes, started once and reused: `run` maps items to results with a per-item budget."""

    def __init__(self, workers: int, budget: float):
        self.budget = budget
        self.size = workers
        self.workers: list[_Worker] = []
        self.restarts = 0

    def close(self) -> None:
        for w in self.workers:
            with contextlib.suppress(OSError):
                w.conn.send(None)
            with contextlib.suppress(Exception):  # still running after 2 s: killed below
                w.proc.wait(2)
            w.kill()
        self.workers = []

    def run(self, items: list[tuple[int, tuple]], stats: dict) -> dict[int, tuple]:
        from multiprocessing.connection import wait

        results: dict[int, tuple] = {}
        queue = [items[i : i + CHUNK] for i in range(0, len(items), CHUNK)]
        queue.reverse()
        wanted = min(self.size, len(queue))
        while len(self.workers) < wanted:
            self.workers.append(_Worker(self.budget))
        backstop = _BACKSTOP[0] * self.budget + _BACKSTOP[1]
        startup = 120.0  # importing sympy on a loaded machine
        active = list(self.workers[:wanted])

        def feed(w: _Worker) -> None:
            w.batch, w.pos, w.since = (queue.pop() if queue else []), 0, time.monotonic()
            if w.batch:
                w.conn.send(w.batch)

        def replace(w: _Worker, reason: str) -> _Worker:
            index = w.batch[w.pos][0]
            results[index] = _TIMEOUT
            stats[reason].append(index)
            rest = w.batch[w.pos + 1 :]
            w.kill()
            self.restarts += 1
            stats["worker_restarts"] += 1
            fresh = _Worker(self.budget)
            self.workers[self.workers.index(w)] = fresh
            if rest:
                queue.append(rest)
            return fresh

        for w in active:
            if w.ready:
                feed(w)
        while True:
            busy = [w for w in active if not w.ready or w.batch]
            if not busy:
                break
            now = time.monotonic()
            deadline = min(w.since + (backstop if w.ready else startup) for w in busy)
            ready = wait([w.conn for w in busy], timeout=max(0.0, deadline - now))
            now = time.monotonic()
            for w in list(busy):
                if w.conn in ready:
                    try:
                        while w.conn.poll():
                            index, (status, payload) = w.conn.recv()
                            if index == "ready":
                                w.ready = True
                                feed(w)
                                continue
                            if status == "ok":
                                results[index] = payload
                            else:
                                results[index] = _TIMEOUT
                                stats["timeouts" if status == "timeout" else "errors"].append(index)
                            w.pos += 1
                            w.since = now
                            if w.pos == len(w.batch):
                                feed(w)
                    except (EOFError, OSError):  # the worker died
                        with contextlib.suppress(Exception):
                            w.proc.wait(10)
                    if not w.alive():  # crashed (e.g. C stack overflow): blame the item it was on
                        if not w.ready:
                            raise RuntimeError("answer worker failed to start (is math-verify installed?)")
                        fresh = replace(w, "errors")
                        active[active.index(w)] = fresh
                        continue
                elif w.ready and w.batch and now - w.since > backstop:
                    fresh = replace(w, "timeouts")
                    active[active.index(w)] = fresh
                elif not w.ready and now - w.since > startup:
                    raise RuntimeError("answer worker did not start within 120 s")
            for w in active:  # a replaced worker picks up the rest of the batch when ready
                if w.ready and not w.batch and queue:
                    feed(w)
        return results


_POOL: _Pool | None = None
_POOL_LOCK = threading.Lock()


def _pool(workers: int, budget: float) -> _Pool:
    global _POOL
    if _POOL is not None and (_POOL.size != workers or _POOL.budget != budget):
        _POOL.close()
        _POOL = None
    if _POOL is None:
        _POOL = _Pool(workers, budget)
    return _POOL


def shutdown() -> None:
    """Stop the worker processes (they also stop with the interpreter)."""
    global _POOL
    with _POOL_LOCK:
        if _POOL is not None:
            _POOL.close()
            _POOL = None


atexit.register(shutdown)


# --- public comparison API -------------------------------------------------------------------------------------


def _as_extracted(x: str | Extracted | None, reference: bool = False) -> Extracted | None:
    if isinstance(x, Extracted) or x is None:
        return x
    return reference_answer(x) if reference else final_answer(x)


def _run(items: list[tuple], workers: int, item_timeout: float, stats: dict) -> list[tuple]:
    """Results for items, the fast path in this process and the rest in workers."""
    out: list[tuple | None] = [None] * len(items)
    slow = []
    for i, item in enumerate(items):
        chosen, rejected, reference, _ = item
        if any(_needs_mv(p) for p in (chosen, rejected, reference)):
            slow.append((i, item))
        else:
            out[i] = _compare_item(item)
    stats["fast"] += len(items) - len(slow)
    stats["math_verify"] += len(slow)
    if slow:
        with _POOL_LOCK:
            results = _pool(max(1, workers), item_timeout).run(slow, stats)
        for i, _ in slow:
            out[i] = results[i]
    return out  # type: ignore[return-value]


def _new_stats() -> dict:
    return {"pairs": 0, "fast": 0, "math_verify": 0, "timeouts": [], "errors": [], "worker_restarts": 0, "seconds": 0.0}


def agreement(
    chosen: str | Extracted | None, rejected: str | Extracted | None, *, item_timeout: float = DEFAULT_ITEM_TIMEOUT
) -> Agreement:
    """Do two responses reach the same final answer? `same`, `different` or `undetermined`, never a bool."""
    item = (_parts_of(_as_extracted(chosen)), _parts_of(_as_extracted(rejected)), None, False)
    return _run([item], 1, item_timeout, _new_stats())[0][0]


def correctness(
    response_answer: str | Extracted | None,
    reference: str | Extracted | None,
    *,
    item_timeout: float = DEFAULT_ITEM_TIMEOUT,
) -> Correctness:
    """Is a response's final answer the reference's? Gold (the reference) first, as math-verify's verify expects."""
    parts = _parts_of(_as_extracted(response_answer))
    ref = _parts_of(_as_extracted(reference, reference=True))
    item = (parts, parts, ref, True)
    return _run([item], 1, item_timeout, _new_stats())[0][1]


def _parts_of(x: Extracted | None) -> tuple[Part, ...] | None:
    return None if x is None else x.parts


def answer_columns(
    chosen: list[str | None],
    rejected: list[str | None],
    reference: list[str | None] | None = None,
    workers: int = 2,
    item_timeout: float = DEFAULT_ITEM_TIMEOUT,
    stats: dict | None = None,
) -> dict[str, list]:
    """The answer columns of a set of pairs, in input order.

    Returns `chosen_answer`, `rejected_answer` (the extracted answer text, or None), `answer_agreement`
    (same/different/undetermined) and, when `reference` is given (one reference text per pair, None where there is
    none), `reference_answer` (the answer taken from it, or None), `chosen_correct` and `rejected_correct`
    (correct/incorrect/undetermined).

    Plain-number pairs are decided in this process; the rest go to `workers` processes, each item under
    `item_timeout` seconds of worker CPU (hitting it: `undetermined`, listed in `stats["timeouts"]`). Pass a dict as
    `stats` to get the counts: pairs, fast, math_verify, timeouts (row indices), errors, worker_restarts, seconds.
    """
    if len(chosen) != len(rejected) or (reference is not None and len(reference) != len(chosen)):
        raise ValueError("chosen, rejected and reference must have the same length")
    start = time.perf_counter()
    st = _new_stats() if stats is None else stats
    st.update({k: v for k, v in _new_stats().items() if k not in st})
    st["pairs"] += len(chosen)
    extracted = _extract_all(list(chosen) + list(rejected), workers, item_timeout)
    ex_c, ex_r = extracted[: len(chosen)], extracted[len(chosen) :]
    has_ref = reference is not None
    refs: list[Extracted | None] = [reference_answer(t) for t in reference] if has_ref else [None] * len(chosen)
    # Identical items are computed once (template data repeats answers a lot); results do not depend on order.
    keys: dict[tuple, int] = {}
    index = []
    for c, r, f in zip(ex_c, ex_r, refs, strict=True):
        key = (_parts_of(c), _parts_of(r), _parts_of(f), has_ref)
        index.append(keys.setdefault(key, len(keys)))
    local = _new_stats()
    results = _run(list(keys), workers, item_timeout, local)
    for name in ("fast", "math_verify", "worker_restarts"):
        st[name] += local[name]
    for name in ("timeouts", "errors"):  # rows, not unique items
        hit = set(local[name])
        st[name].extend(row for row, k in enumerate(index) if k in hit)
    out: dict[str, list] = {
        "chosen_answer": [None if e is None else e.answer for e in ex_c],
        "rejected_answer": [None if e is None else e.answer for e in ex_r],
        "answer_agreement": [results[k][0] for k in index],
    }
    if has_ref:
        out["reference_answer"] = [None if f is None else f.answer for f in refs]
        out["chosen_correct"] = [results[k][1] for k in index]
        out["rejected_correct"] = [results[k][2] for k in index]
    st["seconds"] += time.perf_counter() - start
    return out


def naive_columns(chosen: list[str | None], rejected: list[str | None]) -> list[str]:
    """The agreement column the plain way, for benchmarks and tests: the same extraction, then math-verify's parse and
    verify on every value in this one process, no fast path, no cache across rows, no timeout."""
    out = []
    for c, r in zip(chosen, rejected, strict=True):
        item = (_parts_of(final_answer(c)), _parts_of(final_answer(r)), None, False)
        out.append(_compare_item(item, use_fast=False)[0])
    return out


def breakdown(values: list[str | None]) -> dict[str, int]:
    """Counts per state, in a fixed order (for reports)."""
    order = ("same", "different", "undetermined", "correct", "incorrect")
    counts = {k: 0 for k in order if k in values}
    for v in values:
        if v is not None:
            counts[v] = counts.get(v, 0) + 1
    return counts


__all__ = [
    "DEFAULT_ITEM_TIMEOUT",
    "Extracted",
    "Part",
    "agreement",
    "answer_columns",
    "breakdown",
    "correctness",
    "final_answer",
    "naive_columns",
    "parsed",
    "reference_answer",
    "shutdown",
]
