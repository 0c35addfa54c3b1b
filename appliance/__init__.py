"""Offline call transcription for Asterisk.

Privacy by construction: importing the package switches off every hub lookup and usage
metric of the speech libraries before any of them can be imported.
"""

import os

# Forced, not defaulted: an operator's shell must not be able to turn the hub back on.
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ["HF_HUB_DISABLE_TELEMETRY"] = "1"
os.environ["PYANNOTE_METRICS_ENABLED"] = "0"

__version__ = "0.1.0"
