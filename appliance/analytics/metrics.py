"""Per-call conversation metrics from each speaker's speech activity. Pure numpy, no I/O.

Activity is a list of (start, end) spans per speaker index: measured per channel on stereo
calls (appliance.analytics.activity), or the diarized turns of a mono one (estimates). The
definitions, all in seconds:

- talk: a speaker's total active time; pauses shorter than PAUSE_IN_SPEECH belong to the speech.
- overlap: two or more speak at once (stretches shorter than MIN_OVERLAP are edge jitter).
- silence: nobody speaks, between the first speech and the last (ringing and hold music
  before or after are not dead air).
- interruption: B starts while A speaks, at least INTERRUPT_ONSET into A's speech, and B keeps
  talking at least MIN_TAKEOVER; A "stopped" if A's speech ends within STOPPED_WITHIN of B's start.
- monologue: a run of one speaker's speech until another takes the floor (speaks MIN_TAKEOVER).
- response gap: the silence between one speaker's end and another's start.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import asdict, dataclass, field

import numpy as np

PAUSE_IN_SPEECH = 0.5
MIN_SPEECH = 0.15
MIN_OVERLAP = 0.1
INTERRUPT_ONSET = 0.3
MIN_TAKEOVER = 0.5
STOPPED_WITHIN = 1.5

Spans = list[tuple[float, float]]
_QUESTION = re.compile(r"[?¿]+")


@dataclass(frozen=True)
class Interruption:
    by: int  # speaker index of who started talking
    over: int  # speaker index of who was talking
    at: float
    other_stopped: bool


@dataclass(frozen=True)
class CallMetrics:
    """Per-speaker lists are indexed by speaker index; `public` names them by label."""

    exact: bool
    talk_seconds: list[float]
    words: list[int]
    questions: list[int]
    longest_monologue_seconds: list[float]
    overlap_seconds: float
    overlap_count: int
    silence_seconds: float
    longest_silence_seconds: float
    response_gaps: list[float]
    interruptions: list[Interruption] = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "CallMetrics":
        return cls(**{**data, "interruptions": [Interruption(**i) for i in data["interruptions"]]})


def smooth(spans: Spans, pause: float = PAUSE_IN_SPEECH, shortest: float = MIN_SPEECH) -> Spans:
    """Sorted spans with pauses shorter than `pause` bridged and blips shorter than `shortest` dropped."""
    merged: Spans = []
    for start, end in sorted(spans):
        if merged and start - merged[-1][1] < pause:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return [(s, e) for s, e in merged if e - s >= shortest]


def spans_from_mask(active: np.ndarray, step: float) -> Spans:
    """Spans of consecutive True frames of `step` seconds each."""
    edges = np.diff(np.concatenate(([0], active.astype(np.int8), [0])))
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    return [(float(s * step), float(e * step)) for s, e in zip(starts, ends)]


def _speakers_at_once(activity: list[Spans]) -> tuple[np.ndarray, np.ndarray]:
    """Boundaries and how many speak between each pair of them."""
    events = sorted((t, delta) for spans in activity for s, e in spans for t, delta in ((s, 1), (e, -1)))
    times = np.array([t for t, _ in events])
    counts = np.cumsum([d for _, d in events])
    return times, counts


def _stretches(times: np.ndarray, where: np.ndarray) -> Spans:
    """Maximal spans [times[i], times[i+1]) for the i where `where` holds."""
    spans: Spans = []
    for i in np.flatnonzero(where[:-1]):
        start, end = float(times[i]), float(times[i + 1])
        if end <= start:
            continue
        if spans and abs(spans[-1][1] - start) < 1e-9:
            spans[-1] = (spans[-1][0], end)
        else:
            spans.append((start, end))
    return spans


def _containing(spans: Spans, starts: list[float], t: float, lead: float = 0.0) -> tuple[float, float] | None:
    """The span that began at least `lead` before t and is still going at t (spans are disjoint)."""
    k = bisect.bisect_right(starts, t - lead) - 1
    return spans[k] if k >= 0 and spans[k][1] > t else None


def _interruptions(activity: list[Spans]) -> list[Interruption]:
    """Each time one speaker starts over another's stretch of speech (once per stretch)."""
    starts = [[s for s, _ in spans] for spans in activity]
    found: dict[tuple[int, int, tuple[float, float]], Interruption] = {}
    for by, spans in enumerate(activity):
        for start, end in spans:
            if end - start < MIN_TAKEOVER:
                continue
            for over, others in enumerate(activity):
                held = _containing(others, starts[over], start, INTERRUPT_ONSET) if over != by else None
                if held and (by, over, held) not in found:
                    found[(by, over, held)] = Interruption(by, over, round(float(start), 2),
                                                       bool(held[1] <= start + STOPPED_WITHIN))
    return sorted(found.values(), key=lambda i: i.at)


def _longest_monologue(activity: list[Spans], speaker: int) -> float:
    takeovers = sorted(s for i, spans in enumerate(activity) if i != speaker
                       for s, e in spans if e - s >= MIN_TAKEOVER)
    longest, run = 0.0, None
    for start, end in activity[speaker]:
        # The run goes on unless someone else took the floor since it began.
        if run and bisect.bisect_left(takeovers, start) == bisect.bisect_right(takeovers, run[0]):
            run = (run[0], end)
        else:
            run = (start, end)
        longest = max(longest, run[1] - run[0])
    return longest


def _response_gaps(activity: list[Spans]) -> list[float]:
    """Gaps before a speaker starts in silence right after another speaker ended."""
    ends = sorted((e, i) for i, spans in enumerate(activity) for _, e in spans)
    end_times = [e for e, _ in ends]
    starts = [[s for s, _ in spans] for spans in activity]
    gaps = []
    for speaker, spans in enumerate(activity):
        for start, end in spans:
            if end - start < MIN_TAKEOVER:
                continue  # a backchannel ("mhm") does not answer
            k = bisect.bisect_right(end_times, start) - 1
            if k < 0 or ends[k][1] == speaker:
                continue
            if not any(_containing(sp, starts[i], start) for i, sp in enumerate(activity) if i != speaker):
                gaps.append(start - end_times[k])
    return sorted(gaps)


def compute(activity: list[Spans], words: list[str], *, exact: bool) -> CallMetrics:
    """Metrics of one call: `activity[i]` the spans of speaker i, `words[i]` the text it said."""
    activity = [smooth([(float(s), float(e)) for s, e in spans]) for spans in activity]
    spoken = [s for spans in activity for s in spans]
    if spoken:
        times, counts = _speakers_at_once(activity)
        overlaps = [o for o in _stretches(times, counts >= 2) if o[1] - o[0] >= MIN_OVERLAP]
        silences = _stretches(times, counts == 0)
    else:
        overlaps, silences = [], []
    return CallMetrics(
        exact=exact,
        talk_seconds=[round(sum(e - s for s, e in spans), 2) for spans in activity],
        words=[len(text.split()) for text in words],
        questions=[len(_QUESTION.findall(text)) for text in words],
        longest_monologue_seconds=[round(_longest_monologue(activity, i), 2) for i in range(len(activity))],
        overlap_seconds=round(sum(e - s for s, e in overlaps), 2),
        overlap_count=len(overlaps),
        silence_seconds=round(sum(e - s for s, e in silences), 2),
        longest_silence_seconds=round(max((e - s for s, e in silences), default=0.0), 2),
        response_gaps=[round(g, 2) for g in _response_gaps(activity)],
        interruptions=_interruptions(activity),
    )


def _unique_labels(labels: list[str]) -> list[str]:
    """Labels as map keys: a repeated name gets its position, so no speaker's figures vanish."""
    return [label if labels.count(label) == 1 else f"{label} ({i + 1})" for i, label in enumerate(labels)]


def public(metrics: CallMetrics, labels: list[str]) -> dict:
    """The `metrics` object of the API and exports: per-speaker maps keyed by speaker label."""
    names = _unique_labels(list(labels) + [f"Speaker {i + 1}" for i in range(len(labels), len(metrics.talk_seconds))])

    def by_speaker(values) -> dict:
        return {names[i]: v for i, v in enumerate(values)}

    total = sum(metrics.talk_seconds)
    gaps = metrics.response_gaps
    return {
        "exact": metrics.exact,
        "talk_seconds": by_speaker(metrics.talk_seconds),
        "talk_share": by_speaker(round(t / total, 3) if total else 0.0 for t in metrics.talk_seconds),
        "interruptions": by_speaker(sum(1 for i in metrics.interruptions if i.by == n)
                                    for n in range(len(metrics.talk_seconds))),
        "interruption_events": [{"by": names[i.by], "over": names[i.over], "at": i.at,
                                 "other_stopped": i.other_stopped} for i in metrics.interruptions],
        "overlap_seconds": metrics.overlap_seconds,
        "overlap_count": metrics.overlap_count,
        "silence_seconds": metrics.silence_seconds,
        "longest_silence_seconds": metrics.longest_silence_seconds,
        "longest_monologue_seconds": by_speaker(metrics.longest_monologue_seconds),
        "words_per_minute": by_speaker(round(w * 60 / t, 1) if t else None
                                       for w, t in zip(metrics.words, metrics.talk_seconds)),
        "questions": by_speaker(metrics.questions),
        "response_gap_median_seconds": round(float(np.median(gaps)), 2) if gaps else None,
        "response_gap_max_seconds": max(gaps) if gaps else None,
    }


def stored_public(data: dict | None, labels: list[str]) -> dict | None:
    """`public` of the stored JSON (None when the call has none, or measuring it failed)."""
    return public(CallMetrics.from_dict(data), labels) if data else None
