"""The menus as the dialplan template (asterisk-config/extensions.conf) needs them."""

from __future__ import annotations

from appliance.config import Settings
from appliance.ivr.menu import load_menus

# The Stasis application the menu contexts hand callers to (appliance/ivr/app.py).
APP = "appliance-ivr"


def menu_contexts(settings: Settings) -> list[dict]:
    """One entry per configured menu: its context name, prompt, keys and operator.
    Every value was checked against a strict alphabet by appliance.ivr.menu."""
    return [
        {
            "name": menu.name,
            "app": APP,
            "prompt": menu.prompt,
            "listen_seconds": int(round(menu.listen_seconds)),
            "misses": menu.misses,
            "operator": menu.operator,
            "key_choices": [c for c in menu.choices if c.dtmf],
        }
        for menu in load_menus(settings).values()
    ]
