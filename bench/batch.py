"""Batch transcription benchmark: the appliance against plain and batched faster-whisper.

    .venv/bin/python bench/batch.py [--minutes N] [--repeat K] [--keep DIR]

Builds one long real two-party 8 kHz call (bench/calls.py), stereo and as the mono file a PBX
that records mono writes (both directions summed), then runs five systems, each in its own child
process (so peak RSS is per system):

  (a) plain        faster-whisper WhisperModel.transcribe on the mono mixdown
  (b) batched      faster-whisper BatchedInferencePipeline (batch 8) on the mono mixdown: the bar
  (c) appliance    store.intake.enqueue + Worker.run_once on the stereo file, end to end
  (d) batched mono (b) on the mono file: the bar for (e)
  (e) mono         (c) on the mono file: one recognition, speakers from the embedded source

and prints wall time, real-time factor, WER and peak RSS, and the embedded source's DER on
pyannote's sample. It prints figures; it asserts nothing.
See bench/README.md.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
PROJECT_ROOT = BENCH_DIR.parent
sys.path[:0] = [str(BENCH_DIR), str(PROJECT_ROOT), str(PROJECT_ROOT / "tests")]

from machine import machine  # noqa: E402

os.environ.setdefault("HF_HUB_OFFLINE", "1")

MODEL = "whisper-base"
NO_CONFIG = Path("/dev/null")  # never read the machine's /etc/appliance/appliance.toml
SYSTEMS = {
    "plain": "(a) faster-whisper plain",
    "batched": "(b) faster-whisper batched",
    "appliance": "(c) appliance end to end",
    "batched_mono": "(d) batched, mono file",
    "mono": "(e) appliance, mono file",
}
# Which file each system reads: the stereo call unless named here.
MONO_SYSTEMS = ("batched_mono", "mono")
# The embedded source's DER on pyannote's sample (no collar) when the mono case was added.
DER_BEFORE = 0.181
# The options the brief fixes for (a) and (b); (c) uses the appliance's own settings.
WHISPER_OPTIONS = dict(language="en", beam_size=5, vad_filter=True, word_timestamps=True,
                       condition_on_previous_text=False)
COMPUTE = dict(device="cpu", compute_type="int8", cpu_threads=2)
BATCH_SIZE = 8


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


# --- children: one system each ------------------------------------------------------------------


def _mono_16k(wav: Path):
    from appliance.audio import load_recording

    return load_recording([wav]).mixdown()


def child_faster_whisper(system: str, wav: Path, models_dir: Path, repeat: int) -> dict:
    started = time.perf_counter()
    from faster_whisper import BatchedInferencePipeline, WhisperModel

    model = WhisperModel(str(models_dir / MODEL), local_files_only=True, **COMPUTE)
    pipeline = BatchedInferencePipeline(model=model) if system.startswith("batched") else None
    load_s = time.perf_counter() - started

    walls, cpus, text, segments = [], [], "", 0
    for _ in range(repeat):
        started, cpu_started = time.perf_counter(), time.process_time()
        # Decoding and the mixdown are timed too: every system starts from the file.
        audio = _mono_16k(wav)
        if pipeline is not None:
            found, _info = pipeline.transcribe(audio, batch_size=BATCH_SIZE, **WHISPER_OPTIONS)
        else:
            found, _info = model.transcribe(audio, **WHISPER_OPTIONS)
        texts = [s.text.strip() for s in found]  # the generator does the work
        walls.append(time.perf_counter() - started)
        cpus.append(time.process_time() - cpu_started)
        text, segments = " ".join(texts), len(texts)
    return {"load_s": load_s, "walls": walls, "cpus": cpus, "text": text, "segments": segments}


class _TimedEngine:
    """Wraps the appliance's engine to see how much of a job is speech recognition."""

    def __init__(self, engine) -> None:
        self.inner = engine
        self.engine, self.model = engine.engine, engine.model
        self.calls: list[dict] = []

    def recognise(self, samples, **kwargs):
        started = time.perf_counter()
        recognition = self.inner.recognise(samples, **kwargs)
        self.calls.append({"seconds": time.perf_counter() - started,
                           "audio_s": len(samples) / 16000,
                           "segments": len(recognition.segments)})
        return recognition

    def load(self) -> None:
        load = getattr(self.inner, "_load", None)
        if load is not None:
            load()
        else:  # no private loader: one second of silence loads it just the same
            import numpy as np

            self.inner.recognise(np.zeros(16000, dtype=np.float32), language="en")


def child_appliance(wav: Path, models_dir: Path, repeat: int, mono: bool) -> dict:
    from appliance.config import load_settings
    from appliance.diarize.source import choose_source, speaker_source
    from appliance.jobs.worker import Worker
    from appliance.store import Store
    from appliance.stt import engine_for
    from appliance.transcript.model import CallMeta

    data_dir = Path(tempfile.mkdtemp(prefix="bench-appliance-"))
    try:
        settings = load_settings(NO_CONFIG, environ={}, data_dir=data_dir, models_dir=models_dir)
        store = Store.open(settings)
        started = time.perf_counter()
        engine = _TimedEngine(engine_for(settings))
        engine.load()
        if mono:  # a worker loads its speaker source once, like its engine
            speaker_source(choose_source(settings, 1, "call").name, settings)
        load_s = time.perf_counter() - started

        # One job per repeat: the store knows a file once, so each repeat gets its own copy.
        inbox = data_dir / "recordings"
        inbox.mkdir()
        enqueued = []
        for k in range(repeat):
            copy = shutil.copyfile(wav, inbox / f"call-{k}.wav")
            meta = CallMeta(uniqueid=f"bench.{k}", caller="1001", callee="2002", direction="inbound",
                            kind="call")
            enqueued.append(store.intake.enqueue(meta, [copy]))

        worker = Worker(settings, store, engine=engine)
        walls, cpus, stt_s, channels, result = [], [], [], [], {}
        for ticket in enqueued:
            engine.calls.clear()
            started, cpu_started = time.perf_counter(), time.process_time()
            took = worker.run_once()
            walls.append(time.perf_counter() - started)
            cpus.append(time.process_time() - cpu_started)
            stt_s.append(sum(c["seconds"] for c in engine.calls))
            channels.append([dict(c) for c in engine.calls])
            job = store.jobs.get(ticket.job_id)
            if not took or job.state != "done":
                raise RuntimeError(f"job {ticket.job_id} ended {job.state!r}: {job.error}")
            transcript = store.transcripts.get(ticket.call_id)
            turns = sorted(transcript.turns, key=lambda t: (t.start, t.end))
            result = {
                "text": " ".join(t.text for t in turns),
                "party_text": {str(p): " ".join(t.text for t in turns if t.speaker == p) for p in (0, 1)},
                "turns": len(turns),
            }
        # The full-text index was filled in the same commit: the first prompt's word finds the call.
        hits = store.search.hits("available")
        store.close()
        return {"load_s": load_s, "walls": walls, "cpus": cpus, "stt_walls": stt_s, "channels": channels,
                "fts_hits": len(hits), **result}
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)


def run_child(args) -> None:
    wav, models_dir = Path(args.wav), Path(args.models_dir)
    if args.child in ("appliance", "mono"):
        result = child_appliance(wav, models_dir, args.repeat, mono=args.child == "mono")
    else:
        result = child_faster_whisper(args.child, wav, models_dir, args.repeat)
    result["peak_rss_mb"] = peak_rss_mb()
    Path(args.result).write_text(json.dumps(result))


# --- the driver ---------------------------------------------------------------------------------


def ensure_model(models_dir: Path) -> Path:
    from appliance import models
    from appliance.config import load_settings

    if not models.verify(MODEL, models_dir, None).installed:
        print(f"installing {MODEL} into {models_dir} ...", flush=True)
        settings = load_settings(NO_CONFIG, environ={}, data_dir=models_dir.parent, models_dir=models_dir)
        models.install(settings, MODEL)
    return models_dir / MODEL


def versions() -> str:
    from importlib.metadata import PackageNotFoundError, version

    found = []
    for name in ("faster-whisper", "ctranslate2", "onnxruntime"):
        try:
            found.append(f"{name} {version(name)}")
        except PackageNotFoundError:
            pass
    return ", ".join(found)


def build_call(minutes: float, folder: Path):
    import calls
    import numpy as np
    import soundfile
    from appliance.democall import CALL_RATE, mix_call, to_int16, write_stereo_wav

    missing = calls.missing_files()
    if missing:
        sys.exit(f"missing voices ({missing[0]}): apt-get install asterisk-core-sounds-en-wav pocketsphinx-testdata")
    script = calls.build_script(minutes * 60)
    call = mix_call(script, bleed_db=-24.0)
    wav = write_stereo_wav(call, folder / "call.wav")
    # Both directions summed without bleed: each voice once, as a mono PBX recording has it.
    clean = mix_call(script, bleed_db=None)
    soundfile.write(str(folder / "mono.wav"), to_int16(np.clip(clean.sum(axis=1), -1.0, 1.0)), CALL_RATE)
    return script, wav, len(call) / CALL_RATE


def pyannote_sample_der(models_dir: Path) -> float:
    """The embedded source's diarization error on pyannote's bundled sample, no collar."""
    from appliance.audio import DecodeOptions, load_recording
    from appliance.config import load_settings
    from appliance.diarize.source import SourceChoice, speaker_source
    from support import diarization

    path, reference = diarization.pyannote_sample()
    samples = load_recording([path], DecodeOptions()).channels[0]
    settings = load_settings(NO_CONFIG, environ={}, data_dir=models_dir.parent, models_dir=models_dir)
    turns = speaker_source("embedded", settings).turns(samples, SourceChoice("embedded"))
    return diarization.der(reference, turns, len(samples) / 16000)


def run_system(system: str, wav: Path, models_dir: Path, repeat: int, folder: Path) -> dict:
    result_file = folder / f"{system}.json"
    if system in MONO_SYSTEMS:
        wav = wav.with_name("mono.wav")
    command = [sys.executable, str(Path(__file__).resolve()), "--child", system, "--wav", str(wav),
               "--models-dir", str(models_dir), "--repeat", str(repeat), "--result", str(result_file)]
    print(f"running {SYSTEMS[system]} ...", flush=True)
    started = time.perf_counter()
    done = subprocess.run(command, cwd=PROJECT_ROOT)
    if done.returncode != 0:
        return {"error": f"child exited {done.returncode}"}
    result = json.loads(result_file.read_text())
    result["child_wall_s"] = time.perf_counter() - started
    return result


def _fmt(value, spec: str, missing: str = "-") -> str:
    return missing if value is None else format(value, spec)


def report(results: dict, script, audio_s: float, repeat: int, models_dir: Path, load_before, der) -> None:
    import calls
    from wer import word_errors

    reference = calls.reference_text(script)
    print()
    print(f"machine : {machine()}; load average before {load_before[0]:.2f}, now {os.getloadavg()[0]:.2f}")
    print(f"software: {versions()}")
    print(f"model   : {MODEL} ({models_dir / MODEL}), int8, cpu_threads=2, beam 5, language en, "
          f"VAD, word timestamps")
    print(f"audio   : {audio_s:.1f} s stereo 8 kHz call, {len(script)} turns "
          f"({sum(u.party == 1 for u in script)} Asterisk prompts, {sum(u.party == 0 for u in script)} "
          f"LibriVox/cards), gaps > 0, bleed -24 dB; reference {len(reference.split())} words")
    print(f"timing  : {'best of ' + str(repeat) + ' runs' if repeat > 1 else 'one run'}; transcription "
          f"wall excludes model load (shown apart) and includes decoding the file")
    print()
    header = (f"{'system':30} {'load s':>7} {'wall s':>8} {'RTF':>7} {'CPU s':>8} {'WER %':>7} {'S/D/I':>12} "
              f"{'peak RSS MB':>12}")
    print(header)
    print("-" * len(header))
    rows = {}
    for system, label in SYSTEMS.items():
        result = results.get(system)
        if result is None:
            continue
        if "error" in result:
            print(f"{label:30} {result['error']}")
            continue
        errors = word_errors(reference, result["text"])
        wall, cpu = min(result["walls"]), min(result["cpus"])
        rows[system] = {"rtf": wall / audio_s, "wer": errors.rate, "wall": wall, "cpu": cpu}
        print(f"{label:30} {result['load_s']:7.2f} {wall:8.2f} {wall / audio_s:7.3f} {cpu:8.1f} {100 * errors.rate:7.2f} "
              f"{f'{errors.substitutions}/{errors.deletions}/{errors.insertions}':>12} "
              f"{result['peak_rss_mb']:12.0f}")
    print()

    for system, rest in (("appliance", "decode, bleed, turns"), ("mono", "decode, speakers, turns")):
        appliance = results.get(system)
        if not appliance or "error" in appliance:
            continue
        best = min(range(len(appliance["walls"])), key=lambda i: appliance["walls"][i])
        stt, wall = appliance["stt_walls"][best], appliance["walls"][best]
        channels = ", ".join(f"ch{i}: {c['seconds']:.2f} s, {c['segments']} segments"
                             for i, c in enumerate(appliance["channels"][best]))
        print(f"{system} breakdown{' (fastest run)' if repeat > 1 else ''}: speech recognition {stt:.2f} s ({channels}); "
              f"everything else ({rest}, SQLite+FTS commit) {wall - stt:.2f} s; "
              f"{appliance['turns']} turns; FTS finds 'available' in {appliance['fts_hits']} turn(s)")
    appliance = results.get("appliance")
    if appliance and "error" not in appliance:
        parts = []
        for party, name in ((0, "caller"), (1, "callee")):
            errors = word_errors(calls.reference_text(script, party), appliance["party_text"][str(party)])
            parts.append(f"{name} (ch{party}) {100 * errors.rate:.2f} %")
        print(f"appliance WER by party (words must land on the right speaker): {', '.join(parts)}")
    if repeat > 1:
        for system, result in results.items():
            if "walls" in result:
                print(f"runs {system}: wall " + ", ".join(f"{w:.2f}" for w in result["walls"]) + " s; CPU "
                      + ", ".join(f"{c:.1f}" for c in result["cpus"]) + " s")

    print()
    if "appliance" in rows and "batched" in rows:
        ratio = rows["appliance"]["rtf"] / rows["batched"]["rtf"]
        print(f"appliance RTF / batched RTF = {ratio:.2f}  (target <= 1.00: "
              f"{'met' if ratio <= 1.0 else 'NOT met'})")
    if "appliance" in rows and "plain" in rows:
        print(f"appliance RTF / plain RTF   = {rows['appliance']['rtf'] / rows['plain']['rtf']:.2f}")
    if "appliance" in rows and "batched" in rows:
        print(f"appliance CPU / batched CPU = {rows['appliance']['cpu'] / rows['batched']['cpu']:.2f}  "
              f"(less sensitive than wall time to other work on the machine)")
    for other in ("batched", "plain"):
        if "appliance" in rows and other in rows:
            diff = 100 * (rows["appliance"]["wer"] - rows[other]["wer"])
            print(f"WER appliance - {other:8}  = {diff:+.2f} points")
    if "mono" in rows and "batched_mono" in rows:
        mono, bar = rows["mono"], rows["batched_mono"]
        print(f"mono wall / batched mono wall = {mono['wall'] / bar['wall']:.2f}  (target <= 1.20: "
              f"{'met' if mono['wall'] <= 1.2 * bar['wall'] else 'NOT met'})")
        print(f"mono CPU / batched mono CPU   = {mono['cpu'] / bar['cpu']:.2f}")
        print(f"WER mono - batched mono       = {100 * (mono['wer'] - bar['wer']):+.2f} points")
    if der is not None:
        print(f"embedded source DER on pyannote's sample (no collar) = {100 * der:.1f} %  (before: "
              f"{100 * DER_BEFORE:.1f} %: {'no worse' if der <= DER_BEFORE + 5e-4 else 'WORSE'})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=5.0, help="length of the call (default 5)")
    parser.add_argument("--repeat", type=int, default=1, help="runs per system; the fastest counts")
    parser.add_argument("--systems", default=",".join(SYSTEMS), help="comma-separated subset of "
                        + ", ".join(SYSTEMS))
    parser.add_argument("--models-dir", type=Path, default=PROJECT_ROOT / "var" / "models")
    parser.add_argument("--keep", type=Path, help="keep the call, reference and transcripts here")
    # Internal: run one system in this (child) process.
    parser.add_argument("--child", choices=SYSTEMS, help=argparse.SUPPRESS)
    parser.add_argument("--wav", help=argparse.SUPPRESS)
    parser.add_argument("--result", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        run_child(args)
        return

    systems = [s.strip() for s in args.systems.split(",") if s.strip()]
    unknown = set(systems) - set(SYSTEMS)
    if unknown or args.repeat < 1:
        parser.error(f"unknown systems {sorted(unknown)}" if unknown else "--repeat must be >= 1")
    models_dir = args.models_dir.resolve()
    ensure_model(models_dir)

    folder = Path(tempfile.mkdtemp(prefix="bench-batch-"))
    try:
        load_before = os.getloadavg()
        script, wav, audio_s = build_call(args.minutes, folder)
        print(f"call: {audio_s:.1f} s, {len(script)} turns -> {wav}", flush=True)
        results = {system: run_system(system, wav, models_dir, args.repeat, folder) for system in systems}
        der = pyannote_sample_der(models_dir) if "mono" in systems else None
        report(results, script, audio_s, args.repeat, models_dir, load_before, der)
        if args.keep:
            import calls

            args.keep.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(wav, args.keep / "call.wav")
            (args.keep / "reference.txt").write_text(calls.reference_text(script) + "\n")
            for system, result in results.items():
                if "text" in result:
                    (args.keep / f"{system}.txt").write_text(result["text"] + "\n")
                (args.keep / f"{system}.json").write_text(json.dumps(result, indent=1))
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
