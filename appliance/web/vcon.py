"""A call's vCon (appliance.analytics.vcon) from the store: the call page's export, the API's
and the command line's. The recording is the one /calls/ID/audio serves, so its hash matches."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from appliance.analytics.metrics import stored_public
from appliance.analytics.vcon import Recording, to_vcon
from appliance.config import Settings
from appliance.errors import ApplianceError, NotFound
from appliance.web.playback import playable_file


def _recording(store, settings: Settings, call_id: int) -> Recording | None:
    """The playable WAV the audio endpoint serves, or None when the audio is gone."""
    try:
        path = playable_file(settings, call_id, store.recordings.files(call_id), store.recordings.options(call_id))
        content = Path(path).read_bytes()
    except (ApplianceError, OSError):
        return None
    return Recording(url=f"{settings.site_url()}/calls/{call_id}/audio", content=content,
                     filename=f"call-{call_id}.wav")


def call_vcon(store, settings: Settings, call_id: int, inline: bool = False) -> dict:
    """The call's vCon; NotFound when the call is not visible to `store` or has no transcript."""
    call = store.calls.get(call_id)
    transcript = store.transcripts.get(call_id)
    if transcript is None:
        raise NotFound(f"call {call_id} has no transcript yet")
    labels = [s.label for s in transcript.speakers]
    return to_vcon(
        call, transcript,
        host=urlsplit(settings.site_url()).hostname or "localhost",
        insights=store.insights.of_calls([call_id]).get(call_id),
        metrics=stored_public(store.metrics.of_calls([call_id]).get(call_id), labels),
        recording=_recording(store, settings, call_id),
        inline=inline,
    )
