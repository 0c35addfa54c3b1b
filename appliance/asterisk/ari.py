"""A small client for Asterisk's REST Interface (ARI) on loopback: originate, list, hang up.

Plain HTTP with basic auth from the standard library: the appliance only needs a handful of
calls, and ARI listens on 127.0.0.1 only (asterisk-config/http.conf).
"""

from __future__ import annotations

import base64
import json
import urllib.error
import urllib.parse
import urllib.request

from appliance.errors import ApplianceError


class AriError(ApplianceError):
    """Asterisk's REST interface refused a request or cannot be reached."""


class Ari:
    def __init__(self, port: int, password: str, user: str = "appliance", host: str = "127.0.0.1",
                 timeout: float = 10.0) -> None:
        self.base = f"http://{host}:{port}/ari"
        self.auth = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
        self.timeout = timeout

    @classmethod
    def from_settings(cls, settings) -> "Ari":
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
            raise AriError(f"Asterisk ARI {method} {path}: HTTP {exc.code} {exc.reason}") from None
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

    def channels(self) -> list:
        return self.request("GET", "/channels") or []

    def ping(self) -> dict:
        return self.request("GET", "/asterisk/info")
