"""Every text the web UI shows has its German translation (a German user never meets English)."""

from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

WEB = Path(__file__).resolve().parents[1] / "appliance" / "web"


def test_the_german_catalogue_translates_every_text_of_the_ui():
    with open(WEB / "babel.cfg") as config:
        method_map, options_map = parse_mapping_cfg(config)
    found = {message if isinstance(message, str) else message[0]: f"{name}:{line}"
             for name, line, message, *_ in extract_from_dir(WEB, method_map, options_map)}
    with open(WEB / "translations" / "de" / "LC_MESSAGES" / "messages.po", "rb") as po:
        catalogue = read_po(po)
    missing = [f"{where}: {text!r}" for text, where in found.items()
               if text not in catalogue or not catalogue[text].string]
    assert not missing, "untranslated:\n" + "\n".join(sorted(missing))
