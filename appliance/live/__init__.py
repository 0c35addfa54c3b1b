"""Live transcription of calls in progress: `appliance live` (service.py) taps the calls the
dialplan flags, one session per call (session.py), and writes partial and final text to the
store, where the web UI's event streams pick it up (appliance/web/live.py)."""
