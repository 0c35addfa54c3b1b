"""`appliance ivr` as an admin runs it, and the menu contexts install-config writes."""

import os
import subprocess
from pathlib import Path

import pytest

from support.menus import MENU_TOML
from support.processes import APPLIANCE



def appliance(tmp_path: Path, config: str, *args: str, models_dir: Path | None = None):
    (tmp_path / "appliance.toml").write_text(config)
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "APPLIANCE_CONFIG": str(tmp_path / "appliance.toml"),
           "APPLIANCE_DATA_DIR": str(tmp_path / "data")}
    if models_dir:
        env["APPLIANCE_MODELS_DIR"] = str(models_dir)
    return subprocess.run([str(APPLIANCE), *args], env=env, capture_output=True, text=True, timeout=300)


def test_install_config_writes_a_menu_context_that_falls_back_to_keys_and_the_operator(tmp_path):
    result = appliance(tmp_path, MENU_TOML, "asterisk", "install-config", "--dest", str(tmp_path / "etc"))
    assert result.returncode == 0, result.stderr
    dialplan = (tmp_path / "etc" / "extensions.conf").read_text()
    context = dialplan[dialplan.index("[appliance-menu-main]"):]
    assert "Stasis(appliance-ivr,main)" in context
    assert "GotoIf($[${LEN(${APPLIANCE_MENU_EXTEN})} > 0]?${APPLIANCE_MENU_CONTEXT},${APPLIANCE_MENU_EXTEN},1)" in context
    assert "Background(appliance-test/menu-main)" in context
    for key, exten in (("1", "201"), ("2", "202"), ("3", "203")):
        assert f"exten => {key},1," in context and f"Goto(from-phones,{exten},1)" in context
    assert "GotoIf($[${APPLIANCE_MENU_MISSES} < 2]?s,keys)" in context and "Goto(from-phones,100,1)" in context


def test_a_menu_with_a_destination_that_is_dialplan_syntax_is_refused_in_one_line(tmp_path):
    bad = MENU_TOML.replace('destination = "201@from-phones"', 'destination = "201,1)@from-phones"')
    result = appliance(tmp_path, bad, "ivr", "check")
    assert result.returncode == 1
    assert result.stderr.startswith("error: menu 'main' choice 'sales': destination") and result.stderr.count("\n") == 1


def test_check_lists_each_choice_with_its_key_destination_and_phrases(tmp_path):
    result = appliance(tmp_path, MENU_TOML, "ivr", "check")
    assert result.returncode == 0, result.stderr
    assert "menu main:" in result.stdout and "en: whisper" in result.stdout
    assert "support      key 2 -> 202@from-phones" in result.stdout and "Kundendienst" in result.stdout


@pytest.mark.model
def test_try_shows_which_choice_a_recorded_answer_selects(tmp_path, models_dir):
    answer = tmp_path / "answer.wav"
    subprocess.run(["espeak-ng", "-v", "en-us", "-s", "140", "-w", str(answer), "I have a question about my invoice"],
                   check=True)
    result = appliance(tmp_path, MENU_TOML, "ivr", "try", "main", str(answer), models_dir=models_dir)
    assert result.returncode == 0, result.stderr
    assert "invoice" in result.stdout and "choice: billing" in result.stdout
