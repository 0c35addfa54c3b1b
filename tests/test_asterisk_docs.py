"""docs/asterisk.md, followed step by step against a real Asterisk 22: its commands run (paths
mapped into the test root), its config blocks installed, and what each promises checked: the
chroot's spool path in the dialplan and the hook, a menu reached from extensions_local.conf
with the call recorded, a pjsip_wizard trunk that registers and whose calls enter from-trunk.
"""

import base64
import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from appliance.asterisk.ari import Ari
from appliance.asterisk.install import load_secrets
from appliance.config import PROJECT_ROOT, load_settings
from support.asterisk import ROOT, SIP, SPOOL_INSIDE, baresip_phone, settings_overrides, start_asterisk
from support.processes import wait_for

APPLIANCE = Path(sys.executable).with_name("appliance")
DOC = PROJECT_ROOT / "docs" / "asterisk.md"
# The doc's example chroot and spool, and where they are in the test root.
DOC_PATHS = {"/srv/asterisk-root": str(ROOT), "/var/spool/appliance": str(SPOOL_INSIDE)}
CALLED_NUMBER = "5550100"
CALLED = base64.b64encode(CALLED_NUMBER.encode()).decode()
SILENCE = Path("/usr/share/asterisk/sounds/en/silence/1.wav")


def blocks(kind: str) -> dict[str, str] | list[str]:
    """The doc's fenced blocks: `ini NAME`/`toml NAME` as {NAME: text}, `sh` as a list."""
    found = re.findall(r"^```(\w+)(?: (\S+))?\n(.*?)^```$", DOC.read_text(), re.M | re.S)
    if kind == "sh":
        return [text for lang, _, text in found if lang == "sh"]
    return {name: text for lang, name, text in found if lang == kind and name}


def mapped(command: str) -> list[str]:
    for doc_path, here in DOC_PATHS.items():
        command = command.replace(doc_path, here)
    return shlex.split(command)


@pytest.fixture(scope="module")
def pbx(tmp_path_factory):
    data = tmp_path_factory.mktemp("docs")
    overrides = {**settings_overrides(ROOT), "data_dir": data}
    config = data / "appliance.toml"
    config.write_text(blocks("toml")["appliance.toml"])
    settings = load_settings(config, environ={}, **overrides)
    asterisk = start_asterisk(settings)
    env = {**os.environ, "APPLIANCE_CONFIG": str(config),
           **{f"APPLIANCE_{k.upper()}": str(v) for k, v in overrides.items()}}
    try:
        (chroot_install,) = [c for c in blocks("sh") if "--spool-path" in c]
        result = subprocess.run([str(APPLIANCE)] + mapped(chroot_install)[1:], env=env, capture_output=True,
                                text=True, timeout=60)
        assert result.returncode == 0, result.stdout + result.stderr
        for name, text in blocks("ini").items():
            (asterisk.root / "etc/asterisk" / name).write_text(text)
        for module in ("res_pjsip.so", "res_pjsip_config_wizard.so"):
            asterisk.rx(f"module reload {module}")
        asterisk.rx("dialplan reload")
        yield settings, asterisk
    finally:
        asterisk.stop()


def test_the_chroot_install_names_the_spool_as_asterisk_sees_it(pbx):
    _, asterisk = pbx
    etc = asterisk.root / "etc/asterisk"
    assert f"APPLIANCE_SPOOL = {SPOOL_INSIDE}\n" in (etc / "extensions.conf").read_text()
    assert "externnotify = /bin/sh /etc/asterisk/appliance-hook.sh voicemail" in (etc / "voicemail.conf").read_text()
    assert str(ROOT) not in (etc / "extensions.conf").read_text()


def channel_in(ari: Ari, context: str):
    return next((c for c in ari.channels() if c["dialplan"]["context"] == context), None)


def test_the_menu_extension_of_extensions_local_records_the_call_and_enters_the_menu(pbx):
    settings, asterisk = pbx
    ari = Ari.from_settings(settings)
    ari.originate("Local/500@from-phones", context="appliance-selftest", extension="caller")
    try:
        menu = wait_for(lambda: channel_in(ari, "appliance-menu-front"), "the call in the menu", deadline=30)
        assert ari.get_variable(menu["id"], "APPLIANCE_RECORDING") == menu["id"]
        assert (asterisk.spool / "recording" / f"{menu['id']}.raw").exists()
    finally:
        for channel in ari.channels():
            ari.hangup(channel["id"])


def test_the_wizard_trunk_registers_and_its_calls_enter_from_trunk_recorded(pbx, tmp_path):
    settings, asterisk = pbx
    trunk = blocks("ini")["pjsip_wizard.conf"]
    user = re.search(r"^inbound_auth/username = (\S+)", trunk, re.M).group(1)
    password = re.search(r"^inbound_auth/password = (\S+)", trunk, re.M).group(1)
    reception = baresip_phone(tmp_path / "reception", "100", load_secrets(settings)["phones"]["100"]["password"],
                              SILENCE, seconds_after=10, answers=True)
    gateway = baresip_phone(tmp_path / "trunk", user, password, SILENCE, seconds_after=2, answers=True)
    phones = [subprocess.Popen(["baresip", "-f", str(reception), "-t", "60"], stdin=subprocess.DEVNULL,
                               stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)]
    try:
        wait_for(lambda: "100/sip:" in asterisk.rx("pjsip show contacts"), "phone 100 to register", deadline=30)
        phones.append(subprocess.Popen(["baresip", "-f", str(gateway), "-e", f"/dial sip:{CALLED_NUMBER}@{SIP}",
                                        "-t", "60"], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                       stderr=subprocess.STDOUT))
        wait_for(lambda: f"{user}/sip:" in asterisk.rx("pjsip show contacts"), "the trunk to register", deadline=30)
        # from-trunk rings phone 100, which answers; the gateway hangs up and the recording's
        # ticket says where the call came in.
        ticket = wait_for(lambda: next((t for t in asterisk.spool.glob("*.json")
                                        if json.loads(t.read_text()).get("callee_b64") == CALLED), None),
                          "the trunk call's recording", deadline=60)
        assert json.loads(ticket.read_text())["direction"] == "inbound"
        assert ticket.with_suffix(".raw").is_file()
    finally:
        for process in phones:
            process.terminate()
            process.wait(timeout=30)
