"""The voice menu's definition and the matcher: what callers say -> which choice, how sure."""

import pytest

from appliance.config import load_settings
from appliance.errors import ConfigError
from appliance.ivr.matcher import match, normalise
from appliance.ivr.menu import load_menus, parse_menu
from support.menus import MENU_TOML


@pytest.fixture(scope="module")
def menu(tmp_path_factory):
    config = tmp_path_factory.mktemp("menu") / "appliance.toml"
    config.write_text(MENU_TOML)
    return load_menus(load_settings(config, environ={}))["main"]


@pytest.mark.parametrize("said, choice", [
    # English, alone and in a sentence, as Whisper writes it
    ("Sales.", "sales"),
    ("sales please", "sales"),
    ("I want to talk to support", "support"),
    ("I'd like to buy something", "sales"),
    ("I have a question about my invoice.", "billing"),
    ("Billing, please.", "billing"),
    ("I have a technical problem with my router", "support"),
    ("customer services", "support"),
    ("I need help", "support"),
    # misheard by the recogniser
    ("sails", "sales"),
    ("suport", "support"),
    ("billings", "billing"),
    # German synonyms, umlauts, compounds
    ("Vertrieb bitte", "sales"),
    ("Ich möchte etwas kaufen", "sales"),
    ("Kundendienst", "support"),
    ("Ich habe eine Störung", "support"),
    ("ich habe eine stoerung", "support"),  # "ö" spelt out
    ("Die Kundendienstabteilung, bitte", "support"),
    ("Es geht um meine Rechnung", "billing"),
    ("Buchhaltung", "billing"),
    ("Hilfe!", "support"),
])
def test_phrasings_select_the_choice_the_caller_means(menu, said, choice):
    result = match(said, menu)
    assert result.choice == choice, (said, result)
    assert result.confidence >= menu.threshold, (said, result)


@pytest.mark.parametrize("said", [
    "",
    "   ",
    "The weather is nice today.",
    "Hello?",
    "Wie ist das Wetter morgen",
    "um",
])
def test_unrelated_speech_and_silence_are_below_the_threshold(menu, said):
    assert match(said, menu).confidence < menu.threshold


@pytest.mark.parametrize("said", ["sales or support", "Vertrieb oder Buchhaltung", "billing and support"])
def test_two_choices_at_once_are_not_confident(menu, said):
    assert match(said, menu).confidence < menu.threshold


def test_a_clear_word_is_more_confident_than_a_misheard_one(menu):
    assert match("support", menu).confidence > match("suport", menu).confidence


def test_normalise_folds_case_accents_and_punctuation():
    assert normalise("Grüß Gott, STÖRUNG!") == ["gruss", "gott", "storung"]
    assert normalise("I'd like") == ["i", "d", "like"]


def test_dtmf_keys_and_phrases_per_language(menu):
    assert menu.by_dtmf("2").name == "support"
    assert menu.by_dtmf("9") is None
    assert "Vertrieb" in menu.phrases("de") and "sales" not in menu.phrases("de")
    assert set(menu.phrases("en")) < set(menu.phrases())
    assert str(menu.choice("billing").destination) == "203@from-phones"


@pytest.mark.parametrize("table, message", [
    ({"prompt": "x", "choices": {"a": {"destination": "1@ctx"}}}, "operator"),
    ({"prompt": "x", "operator": "1@ctx"}, "at least one choice"),
    ({"prompt": "x", "operator": "1@ctx", "choices": {"a": {"destination": "1@ctx,2"}}}, "EXTENSION@CONTEXT"),
    ({"prompt": "x", "operator": "1@c", "choices": {"a": {"destination": "${EVIL}@ctx"}}}, "EXTENSION@CONTEXT"),
    ({"prompt": "x)", "operator": "1@c", "choices": {"a": {"destination": "1@c"}}}, "prompt"),
    ({"prompt": "x", "operator": "1@c", "choices": {"a": {"destination": "1@c", "dtmf": "12"}}}, "one key"),
    ({"prompt": "x", "operator": "1@c", "choices": {"a": {"destination": "1@c", "dtmf": "1"},
                                                    "b": {"destination": "2@c", "dtmf": "1"}}}, "share"),
    ({"prompt": "x", "operator": "1@c", "threshold": 2, "choices": {"a": {"destination": "1@c"}}}, "between"),
    ({"prompt": "x", "operator": "1@c", "engine": "siri", "choices": {"a": {"destination": "1@c"}}}, "engine"),
    ({"prompt": "x", "operator": "1@c", "colour": "red", "choices": {"a": {"destination": "1@c"}}}, "colour"),
])
def test_a_bad_menu_is_refused_with_a_readable_reason(table, message):
    with pytest.raises(ConfigError, match=message):
        parse_menu("main", table)
