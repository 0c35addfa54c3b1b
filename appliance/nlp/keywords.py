"""Keywords and key phrases of a call: YAKE over the call's words, stopwords per language.

YAKE (pure Python, statistical, one document at a time) was chosen over a KeyBERT-style
ranking with all-MiniLM-L6-v2: on the scored transcripts it found as many topic words, at under
1 % of the transcription time against 50-150 % for the embeddings, with no model to load, and
it has German stopwords while that model is English-only (bench/nlp.py measures both).
"""

from __future__ import annotations

import functools
import re
from pathlib import Path

from appliance.nlp.redact import MASKS
from appliance.transcript.model import Transcript

MAX_WORDS = 2  # phrases of one or two words
# Lower is less strict: drop a phrase that shares this much with a better one.
DEDUPLICATE = 0.7


@functools.cache
def stopwords(language: str) -> frozenset[str]:
    """YAKE's stopword list for the language (en, de, ...); empty for one it lacks."""
    import yake

    path = Path(yake.__file__).parent / "core" / "StopwordsList" / f"stopwords_{language}.txt"
    try:
        return frozenset(w.strip().lower() for w in path.read_text(encoding="utf-8").splitlines() if w.strip())
    except OSError:
        return frozenset()


def _useful(phrase: str, language: str) -> bool:
    words = re.findall(r"[^\W_]+", phrase.lower())
    # Numbers are entities (an order, a phone number), not topics.
    if not words or any(any(c.isdigit() for c in w) for w in words):
        return False
    # A masked number ("[card]") is no topic.
    if any(f"[{mask}]" in phrase.lower() for mask in MASKS):
        return False
    return not all(w in stopwords(language) or len(w) < 2 for w in words)


def extract_keywords(text: str, language: str = "en", top: int = 8) -> tuple[str, ...]:
    """The `top` key phrases of `text`, best first."""
    if not text.strip() or top <= 0:
        return ()
    import yake

    language = language if stopwords(language) else "en"
    extractor = yake.KeywordExtractor(lan=language, n=MAX_WORDS, dedupLim=DEDUPLICATE, top=top * 2)
    chosen: list[set[str]] = []
    keywords = []
    for phrase, _score in extractor.extract_keywords(text):
        words = set(phrase.lower().split())
        # "order" after "replacement order" (or the other way round) says nothing new.
        if not _useful(phrase, language) or any(words <= other or other <= words for other in chosen):
            continue
        chosen.append(words)
        keywords.append(phrase)
        if len(keywords) == top:
            break
    return tuple(keywords)


def call_keywords(transcript: Transcript, top: int = 8) -> tuple[str, ...]:
    return extract_keywords(transcript.text, transcript.language, top)
