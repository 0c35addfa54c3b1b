"""Install the appliance's Asterisk configuration (asterisk-config/) into /etc/asterisk.

The .conf files are Jinja templates; what differs per box (secrets, phones, mailboxes, the
spool path as Asterisk sees it) comes from the settings and from `asterisk-secrets.json`,
generated once in the data folder and kept there (0600), never committed.
"""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from appliance.config import PROJECT_ROOT, Settings

TEMPLATES = PROJECT_ROOT / "asterisk-config"
HOOK = "appliance-hook.sh"


def load_secrets(settings: Settings) -> dict:
    """AMI/ARI secrets and phone passwords: made on first use, then always the same."""
    path = settings.data_dir / "asterisk-secrets.json"
    stored = json.loads(path.read_text()) if path.exists() else {}
    changed = False
    for key in ("ami_secret", "ari_password"):
        if key not in stored:
            stored[key] = secrets.token_urlsafe(24)
            changed = True
    phones = stored.setdefault("phones", {})
    for number in [*settings.phones, *settings.mailboxes]:
        if number not in phones:
            phones[number] = {"password": secrets.token_urlsafe(16), "pin": f"{secrets.randbelow(10**6):06d}"}
            changed = True
    if changed:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.touch(mode=0o600)
        tmp.write_text(json.dumps(stored, indent=2))
        os.replace(tmp, path)
    return stored


def render_config(settings: Settings, dest: Path, *, menus: list[dict], spool_for_asterisk: Path | None = None,
                  etc_for_asterisk: Path = Path("/etc/asterisk")) -> list[Path]:
    """Write every template into `dest`; paths inside are those Asterisk itself sees. `menus`
    are the voice menus' contexts (appliance.ivr.dialplan.menu_contexts), handed in by the caller
    because the menus are a feature above Asterisk's plumbing."""
    stored = load_secrets(settings)
    env = Environment(loader=FileSystemLoader(str(TEMPLATES)), undefined=StrictUndefined,
                      keep_trailing_newline=True, autoescape=False)
    context = {
        "spool": str(spool_for_asterisk or settings.spool_dir),
        "hook": str(etc_for_asterisk / HOOK),
        "ami_port": settings.asterisk_ami_port,
        "ami_secret": stored["ami_secret"],
        "http_port": settings.asterisk_http_port,
        "ari_password": stored["ari_password"],
        "sip_bind": settings.sip_bind,
        "media_address": settings.sip_media_address,
        "phones": [{"number": n, "name": name, **stored["phones"][n]} for n, name in settings.phones.items()],
        "menus": menus,
        "mailboxes": [
            {"number": n, "name": box.name or n, "pin": stored["phones"][n]["pin"]}
            for n, box in settings.mailboxes.items()
        ],
    }
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    written = []
    for template in sorted(p.name for p in TEMPLATES.iterdir() if p.suffix in (".conf", ".sh")):
        target = dest / template
        target.write_text(env.get_template(template).render(context))
        # Secrets inside: readable by Asterisk's group only on a real box (set by Ansible).
        target.chmod(0o755 if template == HOOK else 0o640)
        written.append(target)
    return written
