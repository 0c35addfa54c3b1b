"""The order of the package's rooms, highest first: a module imports only from its own room
(package or top-level module) or from a room in a lower layer, never sideways or up.

Data flows one way (recording -> job -> speakers -> stt -> transcript -> store -> web, mail,
webhooks), and so do imports: where a feature seems to need an upward import, the shared thing
belongs lower, or the caller above hands it in (a callable or a value). tests/test_layers.py
reads every import (lazy ones inside functions too) against this list; docs/architecture.md
says why each room sits where it does.
"""

LAYERS: tuple[tuple[str, ...], ...] = (
    ("__main__",),
    ("cli",),  # the `appliance` command: starts the web UI, the worker and the services
    ("web",),
    ("jobs", "live", "ivr", "ops"),
    ("analytics",),  # conversation metrics and the vCon: over the pipeline's audio and nlp's insights
    ("pipeline", "nlp", "webhooks", "mail", "cli_context"),
    ("diarize", "stt", "asterisk"),
    ("store", "audio", "models", "democall"),
    ("transcript", "config", "disk", "filemodes", "layers"),
    ("errors", "__init__"),  # `__init__`: the package itself (offline switches, version)
)
