"""What every `appliance` command takes from click's context: the settings, and a store that
closes when the command ends. Its own module so feature commands (ops, live, menu) share it
without importing the CLI's module."""

from __future__ import annotations

import click

from appliance.config import Settings


def settings_of(ctx: click.Context) -> Settings:
    return ctx.obj  # the group's callback puts the settings there


def store_of(ctx: click.Context):
    from appliance.store import Store

    store = Store.open(settings_of(ctx))
    ctx.call_on_close(store.close)
    return store
