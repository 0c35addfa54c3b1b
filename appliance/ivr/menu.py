"""A voice menu as the settings file defines it, validated once into plain dataclasses.

```toml
[menus.main]
prompt = "appliance/menu-main"        # an Asterisk sound: "say sales, support or billing"
language = "en"                       # optional; default: the caller's number rule, else the site's
operator = "100@from-phones"          # after `misses` failed tries (silence, nothing matching)
misses = 2                            # tries before the operator
threshold = 0.6                       # a match below this confidence asks again
listen_seconds = 5                    # time to start speaking after the prompt
engine = "auto"                       # "auto" (Vosk grammar when a model for the language
                                      #  is installed, else Whisper), "vosk" or "whisper"

[menus.main.choices.sales]
destination = "200@from-phones"       # EXTENSION@CONTEXT the dialplan goes to
dtmf = "1"                            # the key that selects it too
phrases = { en = ["sales", "buy", "purchase"], de = ["Vertrieb", "Verkauf", "kaufen"] }
```

Destinations and names end up in the dialplan, so they are checked against a strict alphabet.
Menus live in the settings file, not in the admin UI: `appliance asterisk install-config`
renders the dialplan's menu contexts from them (keys, operator), and a change needs that and an
Asterisk reload anyway; the UI shows what each caller did in them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Mapping

from appliance.config import Settings
from appliance.errors import ConfigError

# Characters a dialplan context, extension or menu name may use here: nothing that Asterisk
# would read as syntax (commas, parentheses, ${}) can come in from the settings file.
_NAME = re.compile(r"[A-Za-z0-9_-]{1,40}")
_EXTEN = re.compile(r"[A-Za-z0-9_+*#-]{1,40}")
_DTMF = re.compile(r"[0-9*#]")
ENGINES = ("auto", "vosk", "whisper")


@dataclass(frozen=True)
class Destination:
    context: str
    extension: str

    @classmethod
    def parse(cls, text: str, where: str) -> "Destination":
        extension, _, context = str(text).partition("@")
        if not (_EXTEN.fullmatch(extension) and _NAME.fullmatch(context)):
            raise ConfigError(f"{where}: destination {text!r} must be EXTENSION@CONTEXT "
                              "(letters, digits, _ - + * #)")
        return cls(context, extension)

    def __str__(self) -> str:
        return f"{self.extension}@{self.context}"


@dataclass(frozen=True)
class Choice:
    name: str
    destination: Destination
    dtmf: str | None
    # language -> the phrases and synonyms that select this choice
    phrases: Mapping[str, tuple[str, ...]]

    def all_phrases(self) -> tuple[str, ...]:
        return tuple(p for phrases in self.phrases.values() for p in phrases)


@dataclass(frozen=True)
class Menu:
    name: str
    prompt: str
    choices: tuple[Choice, ...]
    operator: Destination
    language: str | None = None
    misses: int = 2
    threshold: float = 0.6
    listen_seconds: float = 5.0
    # One utterance is cut here even if the caller keeps talking.
    max_utterance_seconds: float = 6.0
    engine: str = "auto"

    def phrases(self, language: str | None = None) -> tuple[str, ...]:
        """The phrases of one language (for a grammar or a prompt); every language's if None."""
        found = []
        for choice in self.choices:
            found += choice.all_phrases() if language is None else choice.phrases.get(language, ())
        return tuple(dict.fromkeys(found))

    def by_dtmf(self, digit: str) -> Choice | None:
        return next((c for c in self.choices if c.dtmf == digit), None)

    def choice(self, name: str) -> Choice:
        return next(c for c in self.choices if c.name == name)


def _number(table: Mapping, key: str, default, low, high, where: str):
    value = table.get(key, default)
    try:
        value = type(default)(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{where}: {key} must be a number, not {value!r}") from None
    if not low <= value <= high:
        raise ConfigError(f"{where}: {key} must be between {low} and {high}, not {value}")
    return value


def _phrases(raw, where: str) -> dict[str, tuple[str, ...]]:
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{where}: phrases must be a table of languages, e.g. {{ en = [\"sales\"] }}")
    phrases = {}
    for language, items in raw.items():
        if isinstance(items, str):
            items = [items]
        cleaned = tuple(str(p).strip() for p in items if str(p).strip())
        if cleaned:
            phrases[str(language)] = cleaned
    return phrases


def parse_menu(name: str, table: Mapping) -> Menu:
    where = f"menu {name!r}"
    if not _NAME.fullmatch(name):
        raise ConfigError(f"{where}: a menu name uses only letters, digits, _ and -")
    known = {"prompt", "language", "operator", "misses", "threshold", "listen_seconds",
             "max_utterance_seconds", "engine", "choices"}
    unknown = set(table) - known
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {', '.join(sorted(unknown))}")
    prompt = str(table.get("prompt", ""))
    # A sound name as Playback() takes it: folders and names, no extension, no dialplan syntax.
    if not re.fullmatch(r"[A-Za-z0-9_/-]{1,120}", prompt):
        raise ConfigError(f"{where}: prompt must name an Asterisk sound, e.g. \"appliance/menu-main\"")
    if "operator" not in table:
        raise ConfigError(f"{where}: needs an operator destination (EXTENSION@CONTEXT)")
    engine = str(table.get("engine", "auto"))
    if engine not in ENGINES:
        raise ConfigError(f"{where}: engine must be one of {', '.join(ENGINES)}")
    choices = []
    for choice_name, choice in dict(table.get("choices") or {}).items():
        at = f"{where} choice {choice_name!r}"
        if not _NAME.fullmatch(choice_name) or choice_name == "operator":
            raise ConfigError(f"{at}: a choice name uses only letters, digits, _ and - (not 'operator')")
        if not isinstance(choice, Mapping) or "destination" not in choice:
            raise ConfigError(f"{at}: needs a destination (EXTENSION@CONTEXT)")
        dtmf = str(choice["dtmf"]) if choice.get("dtmf") not in (None, "") else None
        if dtmf is not None and not _DTMF.fullmatch(dtmf):
            raise ConfigError(f"{at}: dtmf must be one key, 0-9 * or #")
        choices.append(Choice(choice_name, Destination.parse(choice["destination"], at), dtmf,
                              _phrases(choice.get("phrases", {}), at)))
    if not choices:
        raise ConfigError(f"{where}: needs at least one choice ([menus.{name}.choices.NAME])")
    keys = [c.dtmf for c in choices if c.dtmf]
    if len(keys) != len(set(keys)):
        raise ConfigError(f"{where}: two choices share a dtmf key")
    language = table.get("language")
    return Menu(
        name=name, prompt=prompt, choices=tuple(choices),
        operator=Destination.parse(table["operator"], f"{where} operator"),
        language=str(language) if language else None,
        misses=_number(table, "misses", 2, 1, 10, where),
        threshold=_number(table, "threshold", 0.6, 0.0, 1.0, where),
        listen_seconds=_number(table, "listen_seconds", 5.0, 1.0, 30.0, where),
        max_utterance_seconds=_number(table, "max_utterance_seconds", 6.0, 1.0, 30.0, where),
        engine=engine,
    )


def load_menus(settings: Settings) -> dict[str, Menu]:
    """Every menu in the settings, validated; a ConfigError names the menu and the key."""
    return {name: parse_menu(name, table) for name, table in settings.menus.items()}
