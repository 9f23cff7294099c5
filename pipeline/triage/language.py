"""The language of a ticket from stop-word counts (profiles in ``languages.yaml``)."""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

import yaml

LANGUAGES_FILE = Path(__file__).with_name("languages.yaml")
DEFAULT_LANGUAGE = "en"
# Below this much evidence (about two unambiguous stop words) the text is too short to tell.
MIN_LANGUAGE_EVIDENCE = 1.5
_WORD = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?")


@cache
def stop_words() -> dict[str, frozenset[str]]:
    """language → its stop words, in the file's order (the first language wins a tie)."""
    profiles = yaml.safe_load(LANGUAGES_FILE.read_text(encoding="utf-8"))
    return {lang: frozenset(words.split()) for lang, words in profiles.items()}


@cache
def _word_weights() -> dict[str, dict[str, float]]:
    """word → {language: weight}. A word shared by k languages is weak evidence: 1/k for each."""
    langs_by_word: dict[str, list[str]] = {}
    for lang, words in stop_words().items():
        for word in words:
            langs_by_word.setdefault(word, []).append(lang)
    return {w: {lang: 1 / len(langs) for lang in langs} for w, langs in langs_by_word.items()}


def detect_language(text: str) -> tuple[str, dict]:
    """(ISO 639-1 code, signals) from stop-word counts; English when there is too little to tell."""
    weights = _word_weights()
    scores = dict.fromkeys(stop_words(), 0.0)
    for word in _WORD.findall(text.lower()):
        for lang, weight in weights.get(word, {}).items():
            scores[lang] += weight
    best = max(scores, key=lambda lang: scores[lang])
    signals = {"language_scores": {k: round(v, 2) for k, v in scores.items() if v}}
    if scores[best] < MIN_LANGUAGE_EVIDENCE:
        signals["language_default"] = True
        return DEFAULT_LANGUAGE, signals
    return best, signals
