"""Who said each word: the speaker turn that overlaps the word most (as WhisperX does).

Recognition runs once over the mono recording; its segments can span a change of speaker,
so they are cut wherever consecutive words fall to different speakers. A word no turn
overlaps (the VADs disagree at an edge) goes to the nearest turn in time.
"""

from __future__ import annotations

import dataclasses
from typing import Sequence

import numpy as np

from appliance.diarize.channels import party_speakers
from appliance.diarize.source import SpeakerTurn
from appliance.transcript.model import Segment
from appliance.transcript.model import CallMeta, Speaker


def speaker_at(start: float, end: float, starts: np.ndarray, ends: np.ndarray, speakers: np.ndarray) -> int:
    if not len(speakers):
        return 0
    overlap = np.minimum(ends, end) - np.maximum(starts, start)
    best = int(np.argmax(overlap))
    if overlap[best] > 0:
        return int(speakers[best])
    distance = np.maximum(starts - end, start - ends)
    return int(speakers[int(np.argmin(distance))])


def split_by_speaker(segments: Sequence[Segment], turns: Sequence[SpeakerTurn]) -> dict[int, list[Segment]]:
    """Recognised segments -> per speaker index, the pieces of them that speaker said."""
    starts = np.array([t.start for t in turns])
    ends = np.array([t.end for t in turns])
    speakers = np.array([t.speaker for t in turns], dtype=int)
    pieces: dict[int, list[Segment]] = {}
    for segment in segments:
        if not segment.words:
            speaker = speaker_at(segment.start, segment.end, starts, ends, speakers)
            pieces.setdefault(speaker, []).append(segment)
            continue
        run: list = []
        run_speaker = None
        for word in segment.words:
            speaker = speaker_at(word.start, word.end, starts, ends, speakers)
            if run and speaker != run_speaker:
                pieces.setdefault(run_speaker, []).append(_piece(segment, run))
                run = []
            run.append(word)
            run_speaker = speaker
        pieces.setdefault(run_speaker, []).append(_piece(segment, run))
    return pieces


def _piece(segment: Segment, words: list) -> Segment:
    if len(words) == len(segment.words):
        return segment
    # Whisper's words carry their own leading space.
    text = "".join(w.word for w in words).strip()
    return dataclasses.replace(segment, start=words[0].start, end=words[-1].end, text=text, words=tuple(words))


def segments_by_speaker(segments: Sequence[Segment], turns: Sequence[SpeakerTurn]) -> list[list[Segment]]:
    """One list of segment pieces per speaker who said something, in order of their first word."""
    return sorted(split_by_speaker(segments, turns).values(), key=lambda pieces: pieces[0].start)


def diarized_speakers(meta: CallMeta, count: int) -> list[Speaker]:
    """"Speaker 1..n" (renamed in the UI); one speaker is named as the channels path names it."""
    if count <= 1:
        return party_speakers(meta, 1)
    return [Speaker(index=i, label=f"Speaker {i + 1}", role="speaker") for i in range(count)]
