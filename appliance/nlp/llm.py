"""An optional local LLM summary: a GGUF model the admin puts in a folder, run by
llama-cpp-python (which the admin installs; the appliance never needs it).

Off by default (`nlp_summariser = "extractive"`). With `nlp_summariser = "llm"` and a model
present it writes a short prose summary beside the extractive one; when the package or the
model is missing the appliance says why once and carries on with the extractive summary.
"""

from __future__ import annotations

import functools
import importlib.util
import logging
from dataclasses import dataclass
from pathlib import Path

from appliance.config import Settings
from appliance.nlp import SummaryLine
from appliance.transcript.model import Transcript

log = logging.getLogger(__name__)

MAX_PROMPT_CHARS = 12_000  # about 3 000 tokens: fits a 4 096-token context with the answer
PROMPT = {
    "en": "Summarise this phone call in at most four sentences for a CRM note: who called, "
          "what they asked for, and what was agreed. Use only facts from the call.",
    "de": "Fasse dieses Telefonat in höchstens vier Sätzen für eine CRM-Notiz zusammen: wer "
          "angerufen hat, worum gebeten wurde und was vereinbart wurde. Nur Fakten aus dem Gespräch.",
}


@dataclass(frozen=True)
class Choice:
    """The summariser the settings ask for and can have; `reason` says why not, if not."""

    model_path: Path | None
    reason: str | None


def model_dir(settings: Settings) -> Path:
    return Path(settings.llm_model_dir) if settings.llm_model_dir else settings.models_dir / "llm"


def choose(settings: Settings) -> Choice:
    """A pure check of settings, folder and package; loads nothing."""
    if settings.nlp_summariser != "llm":
        return Choice(None, None)
    folder = model_dir(settings)
    models = sorted(folder.glob("*.gguf")) if folder.is_dir() else []
    if not models:
        return Choice(None, f"no GGUF model in {folder}; using the extractive summary")
    if importlib.util.find_spec("llama_cpp") is None:
        return Choice(None, "llama-cpp-python is not installed; using the extractive summary")
    return Choice(models[0], None)


@functools.cache
def _model(path: Path, threads: int):
    from llama_cpp import Llama

    return Llama(model_path=str(path), n_ctx=4096, n_threads=threads, verbose=False)


def conversation(transcript: Transcript) -> str:
    lines = [f"{transcript.speaker(t.speaker).label}: {t.text}" for t in transcript.turns]
    return "\n".join(lines)[:MAX_PROMPT_CHARS]


class LlmSummariser:
    name = "llm"

    def __init__(self, model_path: Path, threads: int = 2):
        self.model_path, self.threads = model_path, threads

    def abstract(self, transcript: Transcript, lines: tuple[SummaryLine, ...]) -> str:
        instruction = PROMPT.get(transcript.language, PROMPT["en"])
        answer = _model(self.model_path, self.threads).create_chat_completion(
            messages=[
                {"role": "system", "content": instruction},
                {"role": "user", "content": conversation(transcript)},
            ],
            max_tokens=200,
            temperature=0.1,
        )
        return answer["choices"][0]["message"]["content"].strip()


@functools.cache
def _warn_once(reason: str) -> None:
    log.warning("nlp: %s", reason)


def summariser_for(settings: Settings) -> LlmSummariser | None:
    """The LLM summariser when it is switched on and installed, else None (extractive only)."""
    choice = choose(settings)
    if choice.reason:
        _warn_once(choice.reason)
    return LlmSummariser(choice.model_path, settings.cpu_threads) if choice.model_path else None
