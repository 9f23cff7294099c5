"""Word-level text helpers shared by drafting and the decision: stemmed content terms."""

from __future__ import annotations

import re
from functools import lru_cache

import Stemmer

_stem = Stemmer.Stemmer("english").stemWord
_WORD = re.compile(r"[A-Za-z0-9][A-Za-z0-9_\-]*")
STOP = frozenset(
    [
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "but",
        "by",
        "can",
        "do",
        "does",
        "for",
        "from",
        "how",
        "i",
        "if",
        "in",
        "into",
        "is",
        "it",
        "its",
        "me",
        "my",
        "of",
        "on",
        "or",
        "our",
        "so",
        "that",
        "the",
        "their",
        "then",
        "there",
        "these",
        "this",
        "to",
        "was",
        "we",
        "what",
        "when",
        "where",
        "which",
        "who",
        "why",
        "will",
        "with",
        "you",
        "your",
        "please",
        "thanks",
        "hi",
        "hello",
        "help",
    ]
)


# Words Snowball stems onto an unrelated word's stem: "instalments" and "installs" are both
# "instal", so a question about paying in instalments matched firmware updates.
_OWN_STEM = {
    "instalment": "instalment",
    "instalments": "instalment",
    "installment": "instalment",
    "installments": "instalment",
    # … and words it stems apart from their family: "what would it notify me about?" asks about
    # notifications ("notifi" / "notif")
    **dict.fromkeys(("notify", "notifies", "notified", "notifying"), "notif"),
}


def _by_form(forms_of: dict[str, str]) -> dict[str, str]:
    """{base: "form form"} as {form: base}."""
    return {form: base for base, forms in forms_of.items() for form in forms.split()}


# Irregular past forms the stemmer leaves alone: "bought new from an authorised retailer" answers
# "does the warranty count if I didn't buy direct?". Only forms with no other common meaning
# ("left" is also a direction, "saw" a tool, "stuck" a state).
_IRREGULAR = _by_form(
    {
        "buy": "bought",
        "pay": "paid",
        "send": "sent",
        "sell": "sold",
        "spend": "spent",
        "give": "gave given",
        "take": "took taken",
        "make": "made",
        "break": "broke broken",
        "get": "got gotten",
        "keep": "kept",
        "bring": "brought",
        "choose": "chose chosen",
        "write": "wrote written",
        "run": "ran",
        "begin": "began begun",
        "throw": "threw thrown",
        "hold": "held",
        "drink": "drank drunk",
        "come": "came",
        "know": "knew known",
        "show": "shown",
        "lose": "lost",
        "find": "found",
    }
)


# Comparatives and superlatives the stemmer leaves whole: "my coffee's got weaker and weaker" is
# about "Coffee tastes weak or watery". Only adjectives with no other common meaning as a word
# ("longer" and "lighter" are not here: "no longer", a lighter roast).
_COMPARED = _by_form(
    {
        "weak": "weaker weakest",
        "strong": "stronger strongest",
        "hot": "hotter hottest",
        "cold": "colder coldest",
        "warm": "warmer warmest",
        "cool": "cooler coolest",
        "loud": "louder loudest",
        "quiet": "quieter quietest",
        "big": "bigger biggest",
        "small": "smaller smallest",
        "large": "larger largest",
        "fine": "finer finest",
        "coarse": "coarser coarsest",
        "thin": "thinner thinnest",
        "thick": "thicker thickest",
        "dark": "darker darkest",
        "cheap": "cheaper cheapest",
    }
)


@lru_cache(maxsize=1 << 18)  # a knowledge base has a bounded vocabulary; a draft stems ~4k words
def _stemmed(word: str) -> str:
    if word.endswith("-wise") and len(word) > 7:  # "what would I get support-wise?": support
        word = word[:-5]
    return _OWN_STEM.get(word) or _stem(_IRREGULAR.get(word) or _COMPARED.get(word, word))


def terms(text: str) -> set[str]:
    """Stemmed, lower-cased words minus stop words."""
    return {_stemmed(w) for w in set(_WORD.findall(text.lower())) if w not in STOP}
