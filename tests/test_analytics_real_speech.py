"""Conversation metrics of a call made of real speech (Debian's Asterisk prompts) placed at known
times, through the real worker (transcription, then the metrics stage), for every way a
recording arrives: a stereo WAV, MixMonitor's `D` file (what the appliance's dialplan records:
interleaved 8 kHz signed-linear, channel 0 the caller) and an r()/t() pair."""

import numpy as np
import pytest
import soundfile

from appliance import democall
from appliance.analytics.stage import run_pending
from appliance.democall import ASTERISK_SOUNDS, CALL_RATE
from appliance.jobs.worker import Worker
from appliance.transcript.model import CallMeta
from support.placed_calls import Placement, place_voices

pytestmark = pytest.mark.model

TOLERANCE = 0.3  # seconds, per value; counts are exact
MONO_TOLERANCE = 1.0  # estimates from turns
META = CallMeta(uniqueid="1700000000.7", caller="+4930111", callee="201", direction="inbound")
CALLER, CALLEE = META.caller, META.callee

# caller, answer after a pause, the caller talks over the agent who goes on, three seconds of
# dead air, the caller breaks in and the agent stops mid-sentence, the agent answers.
SCRIPT = (
    Placement(0, ASTERISK_SOUNDS / "vm-intro.wav", 0.5),
    Placement(1, ASTERISK_SOUNDS / "agent-user.wav", 6.9),
    Placement(0, ASTERISK_SOUNDS / "privacy-prompt.wav", 9.0),
    Placement(1, ASTERISK_SOUNDS / "queue-periodic-announce.wav", 15.4, cut=18.6),
    Placement(0, ASTERISK_SOUNDS / "tt-weasels.wav", 18.0),
    Placement(1, ASTERISK_SOUNDS / "conf-onlyperson.wav", 21.6),
)


def reference(truth: list[list[tuple[float, float]]]) -> dict:
    """The figures of the placed speech, counted on a 10 ms grid."""
    step = 0.01
    grid = np.arange(0.0, max(e for spans in truth for _, e in spans) + 1.0, step)
    speaking = [np.zeros(len(grid), bool) for _ in truth]
    for mask, spans in zip(speaking, truth):
        for start, end in spans:
            mask[(grid >= start) & (grid < end)] = True
    anyone = speaking[0] | speaking[1]
    first, last = np.flatnonzero(anyone)[[0, -1]]
    quiet = ~anyone[first:last]
    runs = np.diff(np.flatnonzero(np.diff(np.concatenate(([0], quiet.astype(int), [0])))))[::2]
    return {
        "talk_seconds": {CALLER: speaking[0].sum() * step, CALLEE: speaking[1].sum() * step},
        "overlap_seconds": (speaking[0] & speaking[1]).sum() * step,
        "silence_seconds": quiet.sum() * step,
        "longest_silence_seconds": runs.max() * step,
        "longest_monologue_seconds": {CALLER: max(e - s for s, e in truth[0]),
                                      CALLEE: max(e - s for s, e in truth[1])},
    }


@pytest.fixture(scope="module")
def placed():
    return place_voices(SCRIPT)


def assert_matches_the_placement(metrics: dict, truth) -> None:
    expected = reference(truth)
    assert metrics["exact"] is True
    for key in ("talk_seconds", "longest_monologue_seconds"):
        for party in (CALLER, CALLEE):
            assert metrics[key][party] == pytest.approx(expected[key][party], abs=TOLERANCE), (key, party)
    for key in ("overlap_seconds", "silence_seconds", "longest_silence_seconds"):
        assert metrics[key] == pytest.approx(expected[key], abs=TOLERANCE), key
    assert metrics["overlap_count"] == 2
    assert metrics["interruptions"] == {CALLER: 2, CALLEE: 0}
    events = metrics["interruption_events"]
    assert [(e["by"], e["over"], e["other_stopped"]) for e in events] == [
        (CALLER, CALLEE, False), (CALLER, CALLEE, True)]
    for event, start in zip(events, [truth[0][1][0], truth[0][2][0]]):
        assert event["at"] == pytest.approx(start, abs=TOLERANCE)
    # Answers after 1.0 s (to the first sentence), 3.1 s (after the dead air) and 0.8 s.
    assert metrics["response_gap_max_seconds"] == pytest.approx(truth[1][1][0] - truth[0][1][1], abs=TOLERANCE)


def shown_metrics(store, call_id: int) -> dict:
    from appliance.analytics.metrics import stored_public

    labels = [s.label for s in store.transcripts.get(call_id).speakers]
    return stored_public(store.metrics.of_calls([call_id])[call_id], labels)


@pytest.fixture(scope="module")
def worked(placed, tmp_path_factory, models_dir, engine):
    """The stereo WAV through the real worker: transcript, then metrics."""
    from appliance.store import Store
    from conftest import NO_CONFIG
    from appliance.config import load_settings

    folder = tmp_path_factory.mktemp("metrics-real")
    (folder / "data").mkdir()
    settings = load_settings(NO_CONFIG, environ={}, data_dir=folder / "data", models_dir=models_dir)
    call, _ = placed
    wav = democall.write_stereo_wav(call, folder / "call.wav")
    with Store(settings.db_path) as store:
        queued = store.intake.enqueue(META, [str(wav)], {})
        assert Worker(settings, store, engine).run_once()
        yield settings, store, queued.call_id


def test_a_stereo_wav_call_through_the_worker_gives_the_placed_figures(worked, placed):
    _, store, call_id = worked
    metrics = shown_metrics(store, call_id)
    assert_matches_the_placement(metrics, placed[1])
    # The words come from the real transcript: both parties said something, at a human rate.
    for party in (CALLER, CALLEE):
        assert 60 <= metrics["words_per_minute"][party] <= 260, metrics["words_per_minute"]


def _raw_pair(call: np.ndarray, base) -> list:
    """MixMonitor r() and t(): one header-less mono signed-linear file per direction."""
    paths = [base.with_name(base.name + "-rx.raw"), base.with_name(base.name + "-tx.raw")]
    for channel, path in enumerate(paths):
        democall.to_int16(call[:, channel]).tofile(path)
    return paths


def test_an_analogue_hybrids_filtered_echo_gives_the_same_figures(worked, tmp_path):
    # The echo smeared and filtered, not a clean copy: the channels still tell who spoke when.
    settings, store, wav_call = worked
    call, truth = place_voices(SCRIPT, hybrid=True)
    meta = CallMeta(**{**META.__dict__, "uniqueid": "1700000002.1"})
    queued = store.intake.enqueue(meta, [str(democall.write_stereo_wav(call, tmp_path / "hybrid.wav"))], {})
    job = store.jobs.claim("test", 60)
    assert store.jobs.finish(job.id, "test", store.transcripts.get(wav_call))
    assert run_pending(store, settings) == 1
    assert_matches_the_placement(shown_metrics(store, queued.call_id), truth)


@pytest.mark.parametrize("arrives_as", ["mixmonitor D", "r() and t()", "mono"])
def test_every_way_a_recording_arrives_gives_the_same_figures(arrives_as, worked, placed, tmp_path):
    settings, store, wav_call = worked
    call, truth = placed
    base = tmp_path / f"1700000001.{len(arrives_as)}"
    if arrives_as == "mixmonitor D":
        paths, options = [democall.write_mixmonitor_raw(call, base.with_suffix(".raw"))], {"channels": 2}
    elif arrives_as == "r() and t()":
        paths, options = _raw_pair(call, base), {}
    else:
        paths, options = [base.with_suffix(".wav")], {}
        soundfile.write(str(paths[0]), democall.to_int16(call.mean(axis=1)), CALL_RATE, subtype="PCM_16")
    meta = CallMeta(**{**META.__dict__, "uniqueid": base.name})
    queued = store.intake.enqueue(meta, [str(p) for p in paths], options)
    job = store.jobs.claim("test", 60)
    # The same words as the WAV's transcript; the figures come from this recording's audio.
    assert store.jobs.finish(job.id, "test", store.transcripts.get(wav_call))
    assert run_pending(store, settings) == 1
    metrics = shown_metrics(store, queued.call_id)
    if arrives_as == "mono":
        # One channel: estimated from the turns (here: Whisper's segments), and said so; as
        # good as the turns' times, stated here as a second per value (counts exact).
        assert metrics["exact"] is False
        expected = reference(truth)
        for party in (CALLER, CALLEE):
            assert metrics["talk_seconds"][party] == pytest.approx(expected["talk_seconds"][party], abs=MONO_TOLERANCE)
        for key in ("overlap_seconds", "silence_seconds", "longest_silence_seconds"):
            assert metrics[key] == pytest.approx(expected[key], abs=MONO_TOLERANCE), key
        assert (metrics["overlap_count"], metrics["interruptions"]) == (2, {CALLER: 2, CALLEE: 0})
    else:
        assert_matches_the_placement(metrics, truth)
