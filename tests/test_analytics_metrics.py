"""Conversation metrics on calls whose truth is known by construction: synthetic two-channel
signals (bursts of noise where a party speaks, the other party's echo, line noise), mono calls
(estimates from turns), and the stage that stores them for a call's newest transcript."""

import json

import numpy as np
import pytest

from appliance.analytics.metrics import compute, public
from appliance.analytics.stage import measure, run_pending
from appliance.audio import TARGET_RATE, Audio
from appliance.transcript.model import CallMeta, Transcript, Turn
from support.store import CALLER_AND_CALLEE
from support.web import recorded_call, talk

TOLERANCE = 0.3  # seconds, per value
META = CallMeta(uniqueid="metrics-1", caller="+4930111", callee="201")


def two_party_audio(caller: list[tuple[float, float]], callee: list[tuple[float, float]], seconds: float,
                    bleed_db: float = -24.0, noise_db: float = -60.0) -> Audio:
    """Stereo 16 kHz audio: loud noise bursts where each party speaks, its echo on the other
    channel (40 ms later, `bleed_db` quieter), line noise everywhere."""
    rng = np.random.default_rng(7)
    n = int(seconds * TARGET_RATE)
    clean = np.zeros((2, n), dtype=np.float32)
    for channel, spans in enumerate((caller, callee)):
        for start, end in spans:
            a, b = int(start * TARGET_RATE), int(end * TARGET_RATE)
            clean[channel, a:b] = rng.normal(0.0, 0.1, b - a)
    delay, gain = int(0.04 * TARGET_RATE), 10 ** (bleed_db / 20)
    mixed = clean + rng.normal(0.0, 10 ** (noise_db / 20), clean.shape).astype(np.float32)
    mixed[0, delay:] += gain * clean[1, :-delay]
    mixed[1, delay:] += gain * clean[0, :-delay]
    return Audio(channels=(mixed[0], mixed[1]), source_rate=TARGET_RATE, source="synthetic")


def transcript_of(turns: list[Turn], speakers=CALLER_AND_CALLEE, duration: float = 10.0) -> Transcript:
    return Transcript("en", "faster-whisper", "base", duration, speakers, tuple(turns), META)


def measured(caller, callee, seconds=10.0, texts=("", "")):
    turns = [Turn(0, s, e, texts[0]) for s, e in caller[:1]] + [Turn(1, s, e, texts[1]) for s, e in callee[:1]]
    metrics = measure(transcript_of(turns), two_party_audio(caller, callee, seconds))
    assert metrics.exact
    return public(metrics, ["Caller", "Agent"])


# --- from channels: exact ----------------------------------------------------------------------


def test_talk_seconds_per_party_are_the_seconds_each_one_spoke():
    m = measured([(1.0, 4.0)], [(5.0, 7.5)])
    assert m["talk_seconds"]["Caller"] == pytest.approx(3.0, abs=TOLERANCE)
    assert m["talk_seconds"]["Agent"] == pytest.approx(2.5, abs=TOLERANCE)
    assert m["talk_share"]["Caller"] == pytest.approx(3.0 / 5.5, abs=0.03)
    assert m["overlap_count"] == 0 and m["overlap_seconds"] == 0
    assert m["interruptions"] == {"Caller": 0, "Agent": 0}
    # The echo of each party on the other's channel is not speech: one second of silence between.
    assert m["silence_seconds"] == pytest.approx(1.0, abs=TOLERANCE)
    assert m["response_gap_median_seconds"] == pytest.approx(1.0, abs=TOLERANCE)


def test_an_interruption_where_the_other_stops():
    m = measured([(1.0, 4.0)], [(3.5, 6.0)])
    assert m["overlap_seconds"] == pytest.approx(0.5, abs=TOLERANCE)
    assert m["overlap_count"] == 1
    assert m["interruptions"] == {"Caller": 0, "Agent": 1}
    [event] = m["interruption_events"]
    assert (event["by"], event["over"], event["other_stopped"]) == ("Agent", "Caller", True)
    assert event["at"] == pytest.approx(3.5, abs=TOLERANCE)


def test_an_interruption_where_the_other_does_not_stop():
    m = measured([(1.0, 6.0)], [(2.0, 4.0)])
    assert m["overlap_seconds"] == pytest.approx(2.0, abs=TOLERANCE)
    assert m["overlap_count"] == 1
    assert m["interruptions"] == {"Caller": 0, "Agent": 1}
    [event] = m["interruption_events"]
    assert (event["by"], event["over"], event["other_stopped"]) == ("Agent", "Caller", False)
    assert m["talk_seconds"]["Caller"] == pytest.approx(5.0, abs=TOLERANCE)


def test_the_longest_silence_and_all_dead_air_between_first_and_last_word():
    # Ringing before and hold after are not dead air: only 1.5-2.0 and 3.0-6.0 count.
    m = measured([(0.5, 1.5), (6.0, 7.0)], [(2.0, 3.0)], seconds=9.0)
    assert m["longest_silence_seconds"] == pytest.approx(3.0, abs=TOLERANCE)
    assert m["silence_seconds"] == pytest.approx(3.5, abs=TOLERANCE)
    assert m["response_gap_max_seconds"] == pytest.approx(3.0, abs=TOLERANCE)


def test_a_monologue_runs_across_pauses_until_the_other_takes_the_floor():
    # The caller pauses (1 s) but the agent only says "mhm" (0.3 s): still one monologue.
    m = measured([(0.5, 3.0), (4.0, 6.5), (8.0, 9.0)], [(3.3, 3.6), (7.0, 7.8)], seconds=10.0)
    assert m["longest_monologue_seconds"]["Caller"] == pytest.approx(6.0, abs=TOLERANCE)
    assert m["longest_monologue_seconds"]["Agent"] == pytest.approx(0.8, abs=TOLERANCE)
    assert m["interruptions"] == {"Caller": 0, "Agent": 0}  # the backchannel came in a pause


def test_a_party_interrupting_one_stretch_twice_counts_once():
    # The agent breaks in, pauses a moment and goes on, all over one stretch of the caller.
    m = compute([[(0.0, 8.0)], [(2.0, 3.0), (3.6, 5.0)]], ["", ""], exact=True)
    assert [(i.by, i.over) for i in m.interruptions] == [(1, 0)]
    assert m.overlap_count == 2


def test_no_echo_at_all_and_a_loud_echo_give_the_same_figures():
    for bleed_db in (-90.0, -12.0):
        metrics = public(measure(transcript_of([]), two_party_audio([(1.0, 4.0)], [(3.5, 6.0)], 7.0, bleed_db)),
                         ["Caller", "Agent"])
        assert metrics["talk_seconds"]["Caller"] == pytest.approx(3.0, abs=TOLERANCE), bleed_db
        assert metrics["talk_seconds"]["Agent"] == pytest.approx(2.5, abs=TOLERANCE), bleed_db
        assert metrics["overlap_seconds"] == pytest.approx(0.5, abs=TOLERANCE), bleed_db


def test_words_per_minute_and_questions_come_from_the_transcript():
    m = measured([(1.0, 4.0)], [(5.0, 8.0)], texts=("Can you hear me? Is this the clinic?", "Yes it is"))
    assert m["questions"] == {"Caller": 2, "Agent": 0}
    assert m["words_per_minute"]["Caller"] == pytest.approx(8 * 60 / 3.0, rel=0.1)
    assert m["words_per_minute"]["Agent"] == pytest.approx(3 * 60 / 3.0, rel=0.1)


def test_the_metrics_object_names_speakers_by_label_and_keeps_twins_apart():
    m = public(compute([[(0.0, 1.0)], [(2.0, 4.0)]], ["", ""], exact=True), ["Agent", "Agent"])
    assert m["talk_seconds"] == {"Agent (1)": 1.0, "Agent (2)": 2.0}
    for key in ("talk_seconds", "interruptions", "longest_monologue_seconds"):
        assert isinstance(m[key], dict), key
    for key in ("overlap_seconds", "overlap_count", "silence_seconds", "longest_silence_seconds"):
        assert isinstance(m[key], (int, float)), key
    json.dumps(m)


# --- mono: estimates from turns -------------------------------------------------------------


def test_a_mono_call_gets_estimates_from_its_turns():
    turns = [Turn(0, 0.5, 3.0, "hello is this the clinic?"), Turn(1, 3.8, 6.0, "yes how can I help"),
             Turn(0, 5.5, 8.0, "I need an appointment")]
    mono = two_party_audio([(0.5, 8.0)], [], 9.0)
    metrics = measure(transcript_of(turns), Audio((mono.channels[0],), TARGET_RATE, "mono"))
    assert not metrics.exact
    m = public(metrics, ["Caller", "Agent"])
    assert m["exact"] is False
    assert m["talk_seconds"] == {"Caller": 5.0, "Agent": 2.2}
    assert (m["overlap_seconds"], m["overlap_count"]) == (0.5, 1)
    assert m["interruptions"] == {"Caller": 1, "Agent": 0}
    assert m["longest_silence_seconds"] == 0.8


def test_a_stereo_file_holding_one_signal_twice_is_estimated_too():
    audio = two_party_audio([(0.5, 3.0)], [], 4.0)
    same = Audio((audio.channels[0], audio.channels[0].copy()), TARGET_RATE, "dual-mono")
    assert not measure(transcript_of([Turn(0, 0.5, 3.0, "hello")]), same).exact


# --- the stage: stored for the newest transcript ------------------------------------------------


def _stereo_file(path, caller, callee, seconds):
    import soundfile

    audio = two_party_audio(caller, callee, seconds)
    soundfile.write(str(path), np.stack(audio.channels, axis=1), TARGET_RATE, subtype="PCM_16")
    return path


def test_the_stage_measures_the_recording_and_stores_it_for_the_newest_transcript(store, settings, tmp_path):
    wav = _stereo_file(tmp_path / "call.wav", [(1.0, 4.0)], [(3.5, 6.0)], 7.0)
    call = recorded_call(store, [wav], META, talk([(0, "hello"), (1, "hi there")]))
    gone = recorded_call(store, [tmp_path / "deleted.wav"], CallMeta(uniqueid="metrics-2"),
                         talk([(0, "hello"), (1, "hi there")]))
    assert run_pending(store, settings) == 2
    assert run_pending(store, settings) == 0  # nothing left to do
    stored = store.metrics.of_calls([call.call_id, gone.call_id])
    assert stored[call.call_id]["exact"] is True
    assert stored[call.call_id]["overlap_seconds"] == pytest.approx(0.5, abs=TOLERANCE)
    # The audio is gone: estimates from the turns (talk(): 1.5 s each, two seconds apart).
    assert stored[gone.call_id]["exact"] is False
    assert stored[gone.call_id]["talk_seconds"] == [1.5, 1.5]


def test_renaming_a_speaker_relabels_the_figures_without_losing_them(store, settings, tmp_path):
    from appliance.analytics.metrics import stored_public

    wav = _stereo_file(tmp_path / "call.wav", [(1.0, 4.0)], [(5.0, 6.0)], 7.0)
    call = recorded_call(store, [wav], META, talk([(0, "hello"), (1, "hi")]))
    run_pending(store, settings)
    store.transcripts.rename_speaker(call.call_id, 1, "Dr. Weber")
    labels = [s.label for s in store.transcripts.get(call.call_id).speakers]
    shown = stored_public(store.metrics.of_calls([call.call_id])[call.call_id], labels)
    assert set(shown["talk_seconds"]) == {"Caller", "Dr. Weber"}
    assert shown["talk_seconds"]["Dr. Weber"] == pytest.approx(1.0, abs=TOLERANCE)
    assert run_pending(store, settings) == 0  # the figures stand (kept by speaker, not name)


def test_a_scoped_store_gives_no_metrics_of_calls_outside_its_scope(store, settings, tmp_path):
    from appliance.store.scopes import Scope

    own = recorded_call(store, [tmp_path / "a.wav"], CallMeta(uniqueid="m-own", caller="201", callee="+4930111"),
                        talk([(0, "hello"), (1, "hi")]))
    other = recorded_call(store, [tmp_path / "b.wav"], CallMeta(uniqueid="m-other", caller="202", callee="+4930222"),
                          talk([(0, "hello"), (1, "hi")]))
    run_pending(store, settings)
    agent = store.scoped(Scope(extensions=frozenset({"201"})))
    assert set(agent.metrics.of_calls([own.call_id, other.call_id])) == {own.call_id}


def test_the_metrics_follow_every_correction_of_the_transcript(store, settings, tmp_path):
    # Mono: the figures come from the turns, so a turn given to the other speaker moves talk time.
    mono = tmp_path / "mono.wav"
    import soundfile

    soundfile.write(str(mono), two_party_audio([(0.0, 6.0)], [], 6.0).channels[0], TARGET_RATE, subtype="PCM_16")
    call = recorded_call(store, [mono], META, talk([(0, "hello"), (1, "hi there"), (0, "is it open")]))
    run_pending(store, settings)
    assert store.metrics.of_calls([call.call_id])[call.call_id]["talk_seconds"] == [3.0, 1.5]
    store.edits.edit(call.call_id, "vic", "word", 2, word=2, text="open?")
    assert run_pending(store, settings) == 1
    assert store.metrics.of_calls([call.call_id])[call.call_id]["questions"] == [1, 0]
    store.edits.edit(call.call_id, "vic", "speaker", 1, speaker=0)
    assert run_pending(store, settings) == 1
    assert store.metrics.of_calls([call.call_id])[call.call_id]["talk_seconds"] == [4.5, 0.0]


def test_a_soft_voice_under_the_other_partys_loud_one_still_counts():
    # The agent speaks 26 dB softer than the caller, over the caller's speech: softer than the
    # caller's echo on the agent's channel (-24 dB). Cancelling the echo keeps the agent's words.
    rng = np.random.default_rng(3)
    n = 8 * TARGET_RATE
    loud, soft = np.zeros(n, np.float32), np.zeros(n, np.float32)
    loud[1 * TARGET_RATE: 7 * TARGET_RATE] = rng.normal(0, 0.2, 6 * TARGET_RATE)
    soft[3 * TARGET_RATE: 5 * TARGET_RATE] = rng.normal(0, 0.01, 2 * TARGET_RATE)
    delay = int(0.04 * TARGET_RATE)
    noise = rng.normal(0, 1e-4, (2, n)).astype(np.float32)
    caller, agent = loud + noise[0], soft + noise[1]
    agent[delay:] += 10 ** (-24 / 20) * loud[:-delay]
    m = public(measure(transcript_of([]), Audio((caller, agent), TARGET_RATE, "soft")), ["Caller", "Agent"])
    assert m["talk_seconds"]["Agent"] == pytest.approx(2.0, abs=TOLERANCE)
    assert m["overlap_seconds"] == pytest.approx(2.0, abs=TOLERANCE)
