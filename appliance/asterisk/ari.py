"""A small client for Asterisk's REST Interface (ARI) on loopback: originate, list, hang up,
snoop and external media (live transcription), bridges.

Plain HTTP with basic auth from the standard library: the appliance only needs a handful of
calls, and ARI listens on 127.0.0.1 only (asterisk-config/http.conf).
"""

from __future__ import annotations

import base64
import json
import urllib.error
import urllib.parse
import urllib.request

from appliance.config import Settings
from appliance.errors import ApplianceError


class AriError(ApplianceError):
    """Asterisk's REST interface refused a request or cannot be reached."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status  # the HTTP status, None when Asterisk was not reached


class Ari:
    def __init__(self, port: int, password: str, user: str = "appliance", host: str = "127.0.0.1",
                 timeout: float = 10.0) -> None:
        self.base = f"http://{host}:{port}/ari"
        self.auth = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
        self.timeout = timeout

    @classmethod
    def from_settings(cls, settings: Settings) -> "Ari":
        from appliance.asterisk.install import load_secrets

        return cls(settings.asterisk_http_port, load_secrets(settings)["ari_password"])

    def request(self, method: str, path: str, body: dict | None = None, **params) -> dict | list | None:
        query = urllib.parse.urlencode({k: v for k, v in params.items() if v is not None})
        headers = {"Authorization": self.auth}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        req = urllib.request.Request(f"{self.base}{path}?{query}", data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as response:
                body = response.read()
        except urllib.error.HTTPError as exc:
            raise AriError(f"Asterisk ARI {method} {path}: HTTP {exc.code} {exc.reason}", exc.code) from None
        except (urllib.error.URLError, OSError) as exc:
            raise AriError(f"Asterisk ARI is not reachable on {self.base} ({exc}); is Asterisk running?") from None
        return json.loads(body) if body else None

    def originate(self, endpoint: str, *, context: str, extension: str, caller_id: str | None = None,
                  variables: dict[str, str] | None = None, formats: str = "slin") -> dict:
        """Start a call: `endpoint` (e.g. Local/caller@ctx) is connected to context/extension.

        `formats` is explicit because a Local channel originated over ARI without it records
        garbled audio in MixMonitor's `D` stream (seen with Asterisk 22.10); slin is what a
        phone call's audio becomes inside Asterisk anyway.
        """
        return self.request("POST", "/channels", body={"variables": variables or {}}, endpoint=endpoint,
                            context=context, extension=extension, priority=1, callerId=caller_id,
                            formats=formats)

    def channel(self, channel_id: str) -> dict:
        return self.request("GET", f"/channels/{channel_id}")

    def get_variable(self, channel_id: str, name: str) -> str | None:
        """A channel variable's value, None where it is not set."""
        try:
            return self.request("GET", f"/channels/{channel_id}/variable", variable=name)["value"]
        except AriError as exc:
            if exc.status == 404:
                return None
            raise

    def snoop(self, channel_id: str, *, spy: str, app: str, snoop_id: str | None = None) -> dict:
        """A snoop channel (in Stasis `app`) hearing `spy`: "in" = what the channel's party says,
        "out" = what they hear. Works on any channel, also one that is not in Stasis."""
        return self.request("POST", f"/channels/{channel_id}/snoop", spy=spy, app=app, snoopId=snoop_id)

    def external_media(self, *, app: str, external_host: str, format: str = "slin16",
                       channel_id: str | None = None, variables: dict[str, str] | None = None) -> dict:
        """A channel that sends its audio as RTP to `external_host` (host:port). Its channelvars
        UNICASTRTP_LOCAL_ADDRESS/_PORT say where the RTP comes from."""
        return self.request("POST", "/channels/externalMedia", body={"variables": variables or {}}, app=app,
                            external_host=external_host, format=format, channelId=channel_id,
                            encapsulation="rtp", transport="udp", direction="both")

    def delete(self, path: str, **params) -> None:
        """DELETE a resource; one that is already gone (404) is not an error: calls hang up,
        bridges empty and playbacks finish on their own, racing whoever cleans up."""
        try:
            self.request("DELETE", path, **params)
        except AriError as exc:
            if exc.status != 404:
                raise

    def hangup(self, channel_id: str, reason: str = "normal") -> None:
        self.delete(f"/channels/{channel_id}", reason=reason)

    def answer(self, channel_id: str) -> None:
        self.request("POST", f"/channels/{channel_id}/answer")

    def continue_in_dialplan(self, channel_id: str, *, context: str | None = None,
                             extension: str | None = None, priority: int | None = None) -> None:
        self.request("POST", f"/channels/{channel_id}/continue", context=context, extension=extension,
                     priority=priority)

    def create_bridge(self, bridge_type: str = "mixing", *, bridge_id: str | None = None,
                      name: str | None = None) -> dict:
        return self.request("POST", "/bridges", type=bridge_type, bridgeId=bridge_id, name=name)

    def add_to_bridge(self, bridge_id: str, *channel_ids: str) -> None:
        self.request("POST", f"/bridges/{bridge_id}/addChannel", channel=",".join(channel_ids))

    def destroy_bridge(self, bridge_id: str) -> None:
        self.delete(f"/bridges/{bridge_id}")

    def channels(self) -> list:
        return self.request("GET", "/channels") or []

    def bridges(self) -> list:
        return self.request("GET", "/bridges") or []

    def set_variable(self, channel_id: str, name: str, value: str) -> None:
        self.request("POST", f"/channels/{channel_id}/variable", variable=name, value=value)

    def play(self, channel_id: str, sound: str, *, playback_id: str, language: str | None = None) -> None:
        self.request("POST", f"/channels/{channel_id}/play", media=f"sound:{sound}", playbackId=playback_id,
                     lang=language)

    def stop_playback(self, playback_id: str) -> None:
        self.delete(f"/playbacks/{playback_id}")

    def ping(self) -> dict:
        return self.request("GET", "/asterisk/info")
