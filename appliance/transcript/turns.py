"""Merge each speaker's recognised words into one conversation, in time order.

Batched recognition hands back long segments (VAD regions joined up to 30 s), so a segment
is first cut into utterances wherever its speaker pauses. Each utterance stays with the
speaker it was recognised for, so overlapping speech keeps its own speaker; a speaker's
consecutive utterances join into one turn unless another speaker started talking in between
or the pause is long.
"""

from __future__ import annotations

from typing import Iterator, Sequence

from appliance.transcript.model import Segment
from appliance.transcript.model import Speaker, Turn, Word

# A silence this long inside a segment ends an utterance.
UTTERANCE_PAUSE = 0.5
# A pause longer than this starts a new turn even if nobody else spoke.
MAX_PAUSE_IN_TURN = 1.5


def words_text(words: Sequence[Word]) -> str:
    """A turn's text from its words."""
    # Whisper's words carry their own leading space ("ill" + "-disposed" has none).
    return "".join(w.word for w in words).strip()


def _utterances(speaker: Speaker, segment: Segment) -> Iterator[Turn]:
    if not segment.words:
        yield Turn(speaker=speaker.index, start=segment.start, end=segment.end, text=segment.text)
        return
    run: list[Word] = []
    for word in segment.words:
        if run and word.start - run[-1].end > UTTERANCE_PAUSE:
            yield Turn(speaker.index, run[0].start, run[-1].end, words_text(run), tuple(run))
            run = []
        run.append(word)
    yield Turn(speaker.index, run[0].start, run[-1].end, words_text(run), tuple(run))


def build_turns(per_speaker: Sequence[tuple[Speaker, Sequence[Segment]]]) -> list[Turn]:
    candidates = sorted(
        (u for speaker, segments in per_speaker for segment in segments for u in _utterances(speaker, segment)),
        key=lambda turn: (turn.start, turn.speaker),
    )
    turns: list[Turn] = []
    for turn in candidates:
        previous = turns[-1] if turns else None
        if previous and previous.speaker == turn.speaker and turn.start - previous.end <= MAX_PAUSE_IN_TURN:
            words = previous.words + turn.words
            turns[-1] = Turn(
                speaker=turn.speaker,
                start=previous.start,
                end=max(previous.end, turn.end),
                text=words_text(words) if words else f"{previous.text} {turn.text}",
                words=words,
            )
        else:
            turns.append(turn)
    return turns
