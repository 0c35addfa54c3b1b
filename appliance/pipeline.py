"""One recording -> one transcript. Orchestration only: every step lives in its own module."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

from appliance.audio import Audio, DecodeOptions, load_recording
from appliance.config import Settings
from appliance.diarize.assign import diarized_speakers, segments_by_speaker
from appliance.diarize.channels import split_tracks
from appliance.diarize.crosstalk import drop_echoed_words
from appliance.diarize.source import choose_source, speaker_source
from appliance.stt import ProgressCallback, SpeechToText
from appliance.transcript.model import CallMeta, Transcript
from appliance.transcript.turns import build_turns


def choose_language(settings: Settings, meta: CallMeta, duration: float, override: str | None = None) -> str | None:
    """The language to decode in; None asks the model to detect it.

    An explicit choice (per recording, then per number/mailbox) wins; detection is opt-in and
    only for recordings long enough to trust it; otherwise the site's language.
    """
    if override:
        return override
    # A matching rule wins even when it names the site's own language.
    by_number = settings.number_language(meta.caller, meta.callee)
    if by_number:
        return by_number
    if settings.detect_language and duration >= settings.detect_language_min_seconds:
        return None
    return settings.language


def recording_audio(paths: Sequence[Path | str], settings: Settings, options: dict | None = None) -> Audio:
    """Decode a recording as the job's options (or the site's settings) say its raw files are."""
    options = options or {}
    return load_recording(
        paths,
        DecodeOptions(
            raw_sample_rate=options.get("sample_rate", settings.raw_sample_rate),
            raw_channels=options.get("channels", settings.raw_channels),
            max_duration_seconds=settings.max_duration_seconds,
        ),
    )


def transcribe_recording(
    paths: Sequence[Path | str],
    meta: CallMeta,
    settings: Settings,
    engine: SpeechToText,
    *,
    options: dict | None = None,
    hotwords: str | None = None,
    on_progress: ProgressCallback | None = None,
) -> Transcript:
    options = options or {}
    audio = recording_audio(paths, settings, options)
    tracks = split_tracks(audio, meta, settings.bleed_margin_db)
    language = choose_language(settings, meta, audio.duration, options.get("language"))

    recognitions = []
    for index, track in enumerate(tracks):
        def track_progress(fraction: float, index: int = index) -> None:
            if on_progress:
                on_progress((index + fraction) / len(tracks))

        recognitions.append(
            engine.recognise(track.samples, language=language, hotwords=hotwords, on_progress=track_progress)
        )
    segments = drop_echoed_words([list(r.segments) for r in recognitions], list(audio.channels)[: len(tracks)])
    per_speaker = [(track.speaker, segs) for track, segs in zip(tracks, segments)]
    choice = choose_source(settings, len(tracks), meta.kind)
    if choice.name != "channels" and segments[0]:
        # Mono: one recognition, its words shared out over the speaker source's turns.
        source_turns = speaker_source(choice.name, settings).turns(tracks[0].samples, choice)
        spoken = segments_by_speaker(segments[0], source_turns)
        per_speaker = list(zip(diarized_speakers(meta, len(spoken)), spoken))
    turns = build_turns(per_speaker)
    # With detection, the first track that produced speech tells the language.
    detected = next((r.language for r, s in zip(recognitions, segments) if s), recognitions[0].language)
    return Transcript(
        language=language or detected,
        engine=engine.engine,
        model=engine.model,
        duration=audio.duration,
        speakers=tuple(speaker for speaker, _ in per_speaker),
        turns=tuple(turns),
        meta=meta,
    )
