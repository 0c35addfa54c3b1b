"""The `appliance live` command (registered on the main CLI with one line)."""

from __future__ import annotations

import signal
import threading

import click

from appliance.cli_context import settings_of


@click.command("live")
@click.pass_context
def live(ctx: click.Context) -> None:
    """Transcribe calls in progress (the dialplan flags them; see docs/live.md)."""
    from appliance.live.service import LiveService
    from appliance.store import Store

    settings = settings_of(ctx)
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    with Store.open(settings) as store:
        click.echo(f"live transcription: up to {settings.live_max_calls} calls, engine {settings.live_engine}")
        LiveService(settings, store).run(stop)
