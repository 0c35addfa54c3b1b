"""The phrase-alert stage: find the admin's phrases in each call's newest transcript.

A phrase matches where its words follow each other in one speaker's turn, each at the start of
a spoken word, case and punctuation ignored: "kündig" finds "Kündigung" and "kündigen", "Anwalt"
finds "Anwalts", "lawyer" finds "Lawyer,". The moment is the first matching word's start (the
turn's start where a transcript has no word times). Run after every new transcript, a correction
included (store.alerts keeps what it found and queues the webhook alerts and mails).
"""

from __future__ import annotations

import logging
import re

from appliance.transcript.model import Transcript

log = logging.getLogger(__name__)
BATCH = 20
_WORD = re.compile(r"\w+")


def _tokens(text: str) -> list[str]:
    return _WORD.findall(text.casefold())


def _turn_words(turn) -> list[tuple[str, float]]:
    if turn.words:
        return [(token, word.start) for word in turn.words for token in _tokens(word.word)]
    return [(token, turn.start) for token in _tokens(turn.text)]


def find(rules, transcript: Transcript, speakers: set[int] | None = None) -> list[tuple[int, int, float]]:
    """(rule id, speaker, seconds) of each rule's first match in the call (in the turns of
    `speakers` only, when given)."""
    wanted = [(rule.id, _tokens(rule.phrase)) for rule in rules]
    first: dict[int, tuple[int, int, float]] = {}
    for turn in transcript.turns:
        if speakers is not None and turn.speaker not in speakers:
            continue
        words = _turn_words(turn)
        for rule_id, phrase in wanted:
            if rule_id in first or not phrase:
                continue
            for i in range(len(words) - len(phrase) + 1):
                if all(words[i + k][0].startswith(part) for k, part in enumerate(phrase)):
                    first[rule_id] = (rule_id, turn.speaker, words[i][1])
                    break
    return sorted(first.values(), key=lambda hit: hit[2])


def run_pending(store, settings=None, limit: int = BATCH) -> int:
    """Check up to `limit` calls; returns how many were checked."""
    rules = store.alerts.rules()
    done = 0
    for call_id, transcript_id in store.alerts.pending(limit):
        transcript = store.transcripts.get(call_id)
        if transcript is None:
            continue
        hits = find(rules, transcript)
        queued = store.alerts.save(call_id, transcript_id, hits)
        done += 1
        if hits:
            log.info("alerts: call %d: %d phrase(s) found, %d webhook alert(s) and mail(s) queued", call_id,
                     len(hits), queued)
    return done
