"""The benchmark call: a long two-party call from real recorded voices, with honest references.

Party 1 (the callee, channel 1) is Asterisk's prompt voice (Debian `asterisk-core-sounds-en-wav`);
party 0 (the caller, channel 0) is a LibriVox reader and the pocketsphinx "cards" speaker (Debian
`pocketsphinx-testdata`). Turns alternate with short silences (no overlap), and each party leaks
into the other's channel at -24 dB like a real hybrid, via `appliance.democall.mix_call`.

References are what the recordings say, never a recogniser's output:

- Asterisk prompts: the upstream transcript list `core-sounds-en.txt` (1.6.1, the version Debian
  ships as /usr/share/doc/asterisk-core-sounds-en/core-sounds-en.txt.gz). Texts are copied
  verbatim except three spelling fixes of that list ("represenatives" -> "representatives",
  "thru" -> "through", typographic quotes dropped); `upstream_differences()` shows them.
  Prompts that are only fragments or tones ("Press ...", "[beep]"), or whose entry has "*", "#",
  a URL, a number above ten or a stage note, are not used.
- LibriVox: /usr/share/pocketsphinx/test/data/librivox/transcription (verbatim, including the
  reader's "a more a amiable").
- cards: /usr/share/pocketsphinx/test/data/cards/cards.transcription (verbatim).
"""

from __future__ import annotations

import gzip
import itertools
import re
from pathlib import Path

import soundfile

from appliance.democall import ASTERISK_SOUNDS, LIBRIVOX, Utterance

CARDS = Path("/usr/share/pocketsphinx/test/data/cards")
UPSTREAM_LIST = Path("/usr/share/doc/asterisk-core-sounds-en/core-sounds-en.txt.gz")

# (prompt name, text from core-sounds-en.txt). Order is the order of the call.
PROMPTS: tuple[tuple[str, str], ...] = (
    ("vm-nobodyavail", "Nobody is available to take your call at the moment"),
    ("basic-pbx-ivr-main",
     "Thank you for calling Super Awesome Company, Waldo's premier provider of perfect products. "
     "If you know your party's extension, you may dial it at any time. To establish a sales "
     "partnership, press one. To speak with a customer advocate, press two. For accounting and "
     "other receivables, press three. For a company directory, press four. For an operator, press zero."),
    ("tt-weasels", "Weasels have eaten our phone system"),
    ("privacy-prompt", "Please enter your phone number, starting with the area code."),
    ("queue-periodic-announce",
     "All of our representatives are currently busy. Please stay on the line and your call will be "
     "answered by the next available representative."),
    ("vm-instructions",
     "To look into your messages press 1 now.  You may quit voicemail at any time by pressing the pound key."),
    ("ss-noservice", "The number you have dialed is not in service. Please check the number and try again."),
    ("followme/status",
     "the person you are calling is not at their desk; I will try to locate them for you"),
    ("demo-echotest",
     "You are about to enter an echo test.  In this mode everything you say will be repeated back to "
     "you just as soon as it is received.  The purpose of this test is to give you an audible sense of "
     "the latency between you and the machine that is running the echo test application.  You may end "
     "the test by hanging up or by pressing the pound key."),
    ("vm-newuser", "Welcome to Comedian Mail. First, I will guide you through a short setup process."),
    ("queue-youarenext",
     "Your call is now first in line and will be answered by the next available representative."),
    ("tt-allbusy",
     "All representatives of the household are currently assisting other telemarketers.  Please hold "
     "and your call will be answered in the order it was received."),
    ("followme/sorry", "I'm sorry, but I was unable to locate the person you are calling"),
    ("vm-options",
     "Press 1 to record your unavailable message, press 2 to record your busy message, press 3 to "
     "record your name, press 4 to record your temporary greeting, press 5 to change your password, "
     "press star to return to the main menu."),
    ("vm-mismatch", "The passwords you entered and re-entered did not match.  Please try again."),
    ("dir-intro",
     "Welcome to the directory.  Please enter the first three letters of your party's last name using "
     "your touch tone keypad.  Use the 7 key for Q and the 9 key for Z."),
    ("feature-not-avail-line", "That feature is not available on this line."),
    ("demo-nogo",
     "I am afraid I was unable to create a connection to the Digium demonstration Asterisk server.  "
     "You may find some helpful debugging information on the Asterisk console."),
    ("vm-record-prepend",
     "At the tone, please record an introduction to the forwarded message.  When done, press the pound sign."),
    ("privacy-unident", "The party you are trying to reach does not accept unidentified calls."),
    ("screen-callee-options",
     "You have these options: Dial 1 if you wish to immediately connect to the incoming call.  Dial 2 if "
     "you wish to send this caller to voicemail.  Dial 3 to send this caller to the torture menus.  "
     "Dial 4 to send this caller to a polite don't call menu."),
    ("vm-mailboxfull", "sorry but the user's mail box can't accept more messages"),
    ("pbx-invalidpark", "I am sorry, there is no call parked on that extension.  Please try again."),
    ("confbridge-mute-extended",
     "...to mute, or unmute yourself. When you are muted you can not send audio to other participants. "
     "However you will still hear audio from other unmuted participants."),
    ("vm-sorry", "I'm sorry I did not understand your response."),
    ("vm-msginstruct",
     "To hear the next message press 6, to repeat this message press 5, to hear the previous message "
     "press 4, to delete or undelete this message press zero, to quit voicemail press pound."),
    ("priv-introsaved", "Thank you. Please hold, while I attempt to connect you with your party!"),
    ("vm-tmpexists", "There is a temporary greeting, which overrides your standard greetings."),
    ("demo-abouttotry",
     "I am about to attempt an Inter-Asterisk Exchange connection to a demonstration server located at "
     "Digium.  In order for this to work you must already be connected to the Internet.  Please wait a "
     "moment while I attempt to make the connection."),
    ("confbridge-pin-bad", "You have entered too many invalid personal identification numbers."),
    ("cannot-complete-as-dialed", "Your call cannot be completed as dialed."),
    ("dir-instr", "If this is the person you are looking for press 1 now, otherwise please press star now."),
    ("vm-nobox", "you cannot reply to this message because the sender does not have a mailbox"),
    ("speed-dial-empty", "The speed dial entry you've accessed is empty."),
    ("priv-callee-options",
     "Dial 1 if you wish this caller to reach you directly now, and in the future.  Dial 2 if you wish to "
     "send this caller to voicemail now and forevermore.  Dial 3 to send this caller to the torture "
     "menus, now and forevermore.  Dial 4 to send this caller to a polite don't call menu, now and "
     "forevermore.  Dial 5 to allow this caller to come straight through to you in the future, but just "
     "this once, send them to voicemail."),
    ("tt-monkeysintro", "They have been carried away by monkeys"),
    ("please-try-call-later", "Please try your call again later."),
    ("demo-thanks", "Goodbye.  Thank you for trying out the Asterisk Open Source PBX."),
)

# The caller's turns: (file, text), cycled in this order.
_LIBRIVOX_TEXTS = {
    "0870": "and mister john dashwood had then leisure to consider how much there might be prudently "
            "in his power to do for them",
    "0880": "he was not an ill disposed young man",
    "0890": "unless to be rather cold hearted and rather selfish is to be ill disposed",
    "0920": "had he married a more a amiable woman he might have been made still more respectable than he was",
    "0930": "he might even have been made amiable himself",
}
_CARDS_TEXTS = {
    "001": "ten of clubs",
    "002": "four queen of clubs",
    "003": "seven of clubs",
    "004": "five five",
    "005": "eight of spades four of clubs seven of hearts",
}
CALLER_CLIPS: tuple[tuple[Path, str], ...] = tuple(
    item
    for lib, card in zip(sorted(_LIBRIVOX_TEXTS), sorted(_CARDS_TEXTS))
    for item in (
        (LIBRIVOX / f"sense_and_sensibility_01_austen_64kb-{lib}.wav", _LIBRIVOX_TEXTS[lib]),
        (CARDS / f"{card}.wav", _CARDS_TEXTS[card]),
    )
)

# Silence before each turn, cycled: always positive (no overlap), irregular like real turn-taking.
GAPS = (0.6, 0.9, 0.5, 1.2, 0.7, 1.5, 0.8)


def prompt_path(name: str) -> Path:
    return ASTERISK_SOUNDS / f"{name}.wav"


def base_script() -> list[Utterance]:
    """One pass: every prompt once, each followed by the caller's next clip."""
    caller = itertools.cycle(CALLER_CLIPS)
    gaps = itertools.cycle(GAPS)
    script = []
    for name, text in PROMPTS:
        script.append(Utterance(1, prompt_path(name), text, gap=next(gaps)))
        path, caller_text = next(caller)
        script.append(Utterance(0, path, caller_text, gap=next(gaps)))
    return script


def build_script(target_seconds: float, lead_in: float = 0.5) -> list[Utterance]:
    """Repeat the base script (turn by turn) until the call lasts at least `target_seconds`."""
    base = base_script()
    durations = {u.path: soundfile.info(str(u.path)).duration for u in base}
    script, length = [], lead_in
    for utterance in itertools.cycle(base):
        if length >= target_seconds:
            break
        length += (utterance.gap if script else 0.0) + durations[utterance.path]
        script.append(utterance)
    return script


def reference_text(script: list[Utterance], party: int | None = None) -> str:
    """The whole call's words in time order (turns never overlap), or one party's."""
    return " ".join(u.text for u in script if party is None or u.party == party)


def missing_files() -> list[Path]:
    paths = [prompt_path(n) for n, _ in PROMPTS] + [p for p, _ in CALLER_CLIPS]
    return [p for p in paths if not p.is_file()]


def upstream_differences() -> list[tuple[str, str, str]]:
    """(prompt, ours, upstream) where our text differs from Debian's copy of core-sounds-en.txt.

    Empty list if the copy is absent (documentation excluded from the image). Expected
    differences: the three spelling fixes named in the module docstring.
    """
    if not UPSTREAM_LIST.is_file():
        return []
    upstream = {}
    for line in gzip.open(UPSTREAM_LIST, "rt", encoding="utf-8", errors="replace"):
        match = re.match(r"^([^;:\s][^:]*):\s*(.*)$", line.rstrip("\n"))
        if match:
            upstream[match.group(1)] = match.group(2).strip()
    return [(name, text, upstream.get(name, "<absent>")) for name, text in PROMPTS
            if upstream.get(name) != text]
