"""The `appliance ivr` commands (registered on the main CLI with one line)."""

from __future__ import annotations

import signal
import threading
from pathlib import Path

import click

from appliance.cli_context import settings_of
from appliance.errors import ApplianceError


@click.group("ivr")
def ivr() -> None:
    """Voice menus: callers say what they want and are put through."""


@ivr.command("serve")
@click.pass_context
def ivr_serve(ctx: click.Context) -> None:
    """Run the voice menus (the ARI app the dialplan's menu contexts hand callers to)."""
    from appliance.ivr.app import MenuService
    from appliance.store import Store

    settings = settings_of(ctx)
    with Store.open(settings) as store:
        service = MenuService(settings, store)
        # Without menus the service still runs (a unit may be enabled on every box): Stasis
        # is then never called, and the dialplan has no menu context to send callers to.
        if not service.menus:
            click.echo("no voice menu is defined ([menus.NAME] in the settings); idle")
        service.preload()
        # The events thread is stopped from here, never from inside a signal handler (which
        # would interrupt that thread's own websocket read).
        stop = threading.Event()
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: stop.set())
        service.start()
        click.echo(f"voice menus: {', '.join(service.menus)}")
        stop.wait()
        service.stop()


@ivr.command("check")
@click.pass_context
def ivr_check(ctx: click.Context) -> None:
    """Validate the menus and show how each would be recognised."""
    from appliance.ivr.menu import load_menus
    from appliance.stt.vosk_stream import vosk_model_for

    settings = settings_of(ctx)
    menus = load_menus(settings)
    if not menus:
        click.echo("no voice menu is defined ([menus.NAME] in the settings)")
    for menu in menus.values():
        language = menu.language or settings.language
        vosk = menu.engine != "whisper" and vosk_model_for(settings, language) is not None
        engine = "vosk grammar" if vosk or menu.engine == "vosk" else "whisper"
        click.echo(f"menu {menu.name}: prompt {menu.prompt}, {language}: {engine}, "
                   f"threshold {menu.threshold}, operator {menu.operator} after {menu.misses} misses")
        for choice in menu.choices:
            phrases = "; ".join(f"{lang}: {', '.join(p)}" for lang, p in choice.phrases.items())
            click.echo(f"  {choice.name:12s} key {choice.dtmf or '-'} -> {choice.destination}  ({phrases})")


@ivr.command("try")
@click.argument("menu_name")
@click.argument("audio", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--language", help="Language of the answer (default: the menu's, else the site's).")
@click.pass_context
def ivr_try(ctx: click.Context, menu_name: str, audio: Path, language: str | None) -> None:
    """Recognise a recorded answer as the menu would, and print the choice it selects."""
    from appliance.audio import load_recording
    from appliance.ivr.matcher import match
    from appliance.ivr.menu import load_menus
    from appliance.ivr.recognise import recogniser_for

    settings = settings_of(ctx)
    menu = load_menus(settings).get(menu_name)
    if menu is None:
        raise ApplianceError(f"no menu named {menu_name!r} in the settings")
    language = language or menu.language or settings.language
    samples = load_recording([audio]).mixdown()  # 16 kHz float32, any format FFmpeg reads
    heard = recogniser_for(settings, menu, language).recognise(samples)
    result = match(heard.text, menu)
    chosen = result.choice if result.choice and result.confidence >= menu.threshold else None
    click.echo(f"heard: {heard.text!r} ({heard.engine}, {heard.confidence:.2f})")
    click.echo(f"choice: {chosen or 'none, ask again'} (confidence {result.confidence:.2f})")
