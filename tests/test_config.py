"""Settings come from defaults < file < environment < explicit overrides; languages per number."""

from pathlib import Path

import pytest

from appliance.config import Mailbox, Settings, load_settings
from appliance.errors import ConfigError
from appliance.pipeline import choose_language
from appliance.transcript.model import CallMeta

NO_CONFIG = Path("/dev/null")


@pytest.fixture
def config_file(tmp_path):
    def write(text: str) -> Path:
        path = tmp_path / "appliance.toml"
        path.write_text(text)
        return path

    return write


# --- precedence --------------------------------------------------------------------------------


def test_file_values_replace_the_defaults(config_file, tmp_path):
    path = config_file(
        f'data_dir = "{tmp_path / "state"}"\n'
        'language = "de"\n'
        "cpu_threads = 6\n"
        "detect_language = true\n"
        "bleed_margin_db = 12\n"
    )
    settings = load_settings(path, environ={})

    assert settings.data_dir == tmp_path / "state"
    assert settings.language == "de"
    assert settings.cpu_threads == 6
    assert settings.detect_language is True
    assert settings.bleed_margin_db == 12.0 and isinstance(settings.bleed_margin_db, float)
    # Untouched settings keep their defaults.
    assert settings.beam_size == Settings().beam_size


def test_the_config_file_is_found_through_appliance_config(config_file):
    path = config_file('language = "fr"\n')
    assert load_settings(environ={"APPLIANCE_CONFIG": str(path)}).language == "fr"


def test_environment_beats_the_file(config_file):
    path = config_file('language = "de"\ncpu_threads = 6\n')
    settings = load_settings(path, environ={"APPLIANCE_LANGUAGE": "nl", "APPLIANCE_CPU_THREADS": "3"})
    assert settings.language == "nl"
    assert settings.cpu_threads == 3


def test_explicit_overrides_beat_the_environment(config_file):
    path = config_file('language = "de"\n')
    settings = load_settings(path, environ={"APPLIANCE_LANGUAGE": "nl"}, language="it")
    assert settings.language == "it"


def test_an_empty_config_file_gives_the_defaults():
    assert load_settings(NO_CONFIG, environ={}) == Settings()


# --- derived paths -----------------------------------------------------------------------------


def test_derived_paths_follow_data_dir(tmp_path):
    settings = load_settings(NO_CONFIG, environ={"APPLIANCE_DATA_DIR": str(tmp_path / "d")})
    assert settings.data_dir == tmp_path / "d"
    assert settings.spool_dir == tmp_path / "d" / "spool"
    assert settings.db_path == tmp_path / "d" / "appliance.db"
    assert settings.models_dir == tmp_path / "d" / "models"


def test_a_derived_path_set_explicitly_is_kept(tmp_path):
    settings = load_settings(
        NO_CONFIG,
        environ={"APPLIANCE_DATA_DIR": str(tmp_path / "d"), "APPLIANCE_MODELS_DIR": str(tmp_path / "m")},
    )
    assert settings.models_dir == tmp_path / "m"
    assert settings.spool_dir == tmp_path / "d" / "spool"


def test_string_overrides_become_paths(tmp_path):
    settings = load_settings(NO_CONFIG, environ={}, data_dir=str(tmp_path), spool_dir=str(tmp_path / "in"))
    assert settings.data_dir == tmp_path and isinstance(settings.data_dir, Path)
    assert settings.spool_dir == tmp_path / "in" and isinstance(settings.spool_dir, Path)


# --- coercion of environment strings -------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [("1", True), ("true", True), ("Yes", True), (" on ", True), ("0", False), ("false", False), ("NO", False),
     ("off", False)],
)
def test_boolean_environment_values(text, expected):
    settings = load_settings(NO_CONFIG, environ={"APPLIANCE_DETECT_LANGUAGE": text})
    assert settings.detect_language is expected


def test_numbers_and_paths_from_the_environment_get_the_fields_types(tmp_path):
    settings = load_settings(
        NO_CONFIG,
        environ={
            "APPLIANCE_MAX_ATTEMPTS": "7",
            "APPLIANCE_LEASE_SECONDS": "2.5",
            "APPLIANCE_MODELS_MANIFEST": str(tmp_path / "manifest.toml"),
        },
    )
    assert settings.max_attempts == 7 and isinstance(settings.max_attempts, int)
    assert settings.lease_seconds == 2.5
    assert settings.models_manifest == tmp_path / "manifest.toml"


def test_language_rules_from_the_environment_use_the_pattern_equals_language_form():
    settings = load_settings(NO_CONFIG, environ={"APPLIANCE_LANGUAGE_BY_NUMBER": "+49*=de,+44*=en"})
    assert settings.language_by_number == {"+49*": "de", "+44*": "en"}


def test_language_rules_from_the_file_are_a_table(config_file):
    path = config_file('[language_by_number]\n"+49*" = "de"\n"2??" = "fr"\n')
    assert load_settings(path, environ={}).language_by_number == {"+49*": "de", "2??": "fr"}


def test_mailboxes_from_the_file_are_typed_and_an_unlisted_box_gets_the_defaults(config_file):
    path = config_file('language = "en"\n[mailboxes.100]\nname = "Reception"\nemail = "r@office.example"\n'
                       'attach_audio = true\n[mailboxes.200]\nlanguage = "de"\ntranscribe = "no"\n')
    settings = load_settings(path, environ={})
    assert settings.mailbox("100") == Mailbox(name="Reception", email="r@office.example", language="en",
                                              attach_audio=True)
    assert settings.mailbox("200") == Mailbox(language="de", transcribe=False)
    assert settings.mailbox("999") == settings.mailbox(None) == Mailbox(language="en")


# --- bad configuration -------------------------------------------------------------------------


def test_an_unknown_key_in_the_file_is_named_in_the_error(config_file):
    path = config_file('language = "de"\nmodel_size = "large"\n')
    with pytest.raises(ConfigError, match="model_size"):
        load_settings(path, environ={})


@pytest.mark.parametrize(
    ("name", "value"),
    [("APPLIANCE_CPU_THREADS", "many"), ("APPLIANCE_DETECT_LANGUAGE", "maybe"),
     ("APPLIANCE_LEASE_SECONDS", "soon"), ("APPLIANCE_LANGUAGE_BY_NUMBER", "+49*")],
)
def test_a_bad_environment_value_is_a_config_error_naming_the_setting(name, value):
    setting = name.removeprefix("APPLIANCE_").lower()
    with pytest.raises(ConfigError, match=setting):
        load_settings(NO_CONFIG, environ={name: value})


@pytest.mark.parametrize(("table", "named"), [('email_to = "x@y"', "email_to"), ('attach_audio = "often"', "attach_audio")])
def test_a_bad_mailbox_key_is_a_config_error_naming_box_and_key(config_file, table, named):
    path = config_file(f"[mailboxes.100]\n{table}\n")
    with pytest.raises(ConfigError, match=f"mailboxes.100.*{named}|{named}.*mailboxes.100"):
        load_settings(path, environ={})


def test_a_bad_file_value_is_a_config_error(config_file):
    path = config_file('beam_size = "wide"\n')
    with pytest.raises(ConfigError, match="beam_size"):
        load_settings(path, environ={})


def test_a_config_file_that_is_not_toml_is_a_config_error(config_file):
    path = config_file("language = \n")
    with pytest.raises(ConfigError, match="appliance.toml"):
        load_settings(path, environ={})


def test_a_missing_explicit_config_file_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        load_settings(tmp_path / "nope.toml", environ={})


# --- language per number -----------------------------------------------------------------------

RULES = {"+49*": "de", "+44*": "en", "2??": "fr"}


def test_language_for_matches_glob_patterns():
    settings = Settings(language="nl", language_by_number=RULES)
    assert settings.language_for("+493012345") == "de"
    assert settings.language_for("+442071234") == "en"
    assert settings.language_for("201") == "fr"
    # "2??" is exactly three characters: a longer extension does not match.
    assert settings.language_for("2001") == "nl"
    assert settings.language_for("+33123") == "nl"


def test_language_for_takes_the_first_number_that_matches_and_skips_unknown_ones():
    settings = Settings(language="nl", language_by_number=RULES)
    assert settings.language_for(None, "", "+4930", "201") == "de"
    assert settings.language_for("+33123", "201") == "fr"
    assert settings.language_for(None, None) == "nl"


LONG = 60.0
SHORT = 5.0


def _settings(**values):
    return Settings(language="en", language_by_number={"+49*": "de", "+44*": "en"},
                    detect_language_min_seconds=20.0, **values)


def test_an_explicit_language_beats_the_number_rule():
    meta = CallMeta(caller="+4930123")
    assert choose_language(_settings(detect_language=True), meta, LONG, override="fr") == "fr"


def test_a_number_rule_beats_detection():
    meta = CallMeta(caller="+4930123", callee="200")
    assert choose_language(_settings(detect_language=True), meta, LONG) == "de"


def test_a_number_rule_naming_the_site_language_still_beats_detection():
    meta = CallMeta(caller="+4420712345", callee="200")
    assert choose_language(_settings(detect_language=True), meta, LONG) == "en"


def test_detection_is_asked_for_only_when_enabled_and_the_recording_is_long_enough():
    meta = CallMeta(caller="+3312345", callee="200")
    assert choose_language(_settings(detect_language=True), meta, LONG) is None
    assert choose_language(_settings(detect_language=True), meta, 20.0) is None
    assert choose_language(_settings(detect_language=True), meta, SHORT) == "en"
    assert choose_language(_settings(detect_language=False), meta, LONG) == "en"


def test_without_any_rule_the_site_language_is_used():
    assert choose_language(_settings(), CallMeta(), SHORT) == "en"


def test_environment_number_rules_tolerate_spaces():
    from appliance.config import load_settings

    settings = load_settings(Path("/dev/null"), environ={"APPLIANCE_LANGUAGE_BY_NUMBER": "+49*=de, +44* = en"})
    assert settings.language_for("+441234") == "en"
