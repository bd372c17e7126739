"""Match words: the text rule decontamination and near-duplicate search compare by.

A text's match words are its maximal runs of ASCII letters and digits, lowercased; every other character
separates words, so case, punctuation, whitespace and LaTeX spacing (`\\frac {1}{2}`, `\\,`) do not count.
A word right after a backslash is a LaTeX command: spacing and sizing commands (`\\left`, `\\quad`,
`\\big`, ...) are no word at all, and `\\dfrac`, `\\tfrac`, `\\dbinom`, `\\tbinom` count as `\\frac` and
`\\binom`. Characters outside ASCII separate words: GSM8K and MATH write math in ASCII and LaTeX.

`match_words` states the rule in Python (tests, and the exact checks of the few texts a search flags);
the C loops in `curate/_text.c` apply it to whole columns (`curate/native.py` runs them).
"""

from __future__ import annotations

import re

LATEX_SPACING = frozenset(
    {"displaystyle", "textstyle", "qquad", "quad", "left", "right", "big", "bigl", "bigr", "bigg", "biggl", "biggr"}
)
LATEX_SAME = {"dfrac": "frac", "tfrac": "frac", "dbinom": "binom", "tbinom": "binom"}
_WORD = re.compile(r"(\\?)([a-z0-9]+)")  # a word, and the backslash right before it


def match_words(text: str) -> list[str]:
    """The match words of one text."""
    words = []
    # Every non-ASCII character becomes one "?" (a separator, as in C) before lowercasing, so that no
    # character outside ASCII can lowercase into an ASCII letter (as İ and the Kelvin sign would).
    ascii_only = text.encode("ascii", "replace").lower().decode("ascii")
    for backslash, word in _WORD.findall(ascii_only):
        if backslash:
            if word in LATEX_SPACING:
                continue
            word = LATEX_SAME.get(word, word)
        words.append(word)
    return words
