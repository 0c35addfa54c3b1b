"""The operations commands: backup, restore, retention, erase, hold, health, audit verify."""

from __future__ import annotations

import json
from pathlib import Path

import click

from appliance.cli_context import settings_of, store_of
from appliance.errors import ApplianceError


@click.command()
@click.argument("dest", type=click.Path(file_okay=False, path_type=Path))
@click.pass_context
def backup(ctx: click.Context, dest: Path) -> None:
    """Back up the database and recordings into a new folder under DEST (safe while running)."""
    from appliance.ops.backup import backup as make_backup, read_manifest

    folder = make_backup(settings_of(ctx), dest)
    manifest = read_manifest(folder)
    click.echo(f"backup {folder}: {manifest.calls} call(s), {len(manifest.files)} recording file(s)")
    if manifest.missing:
        click.echo(f"{len(manifest.missing)} recording file(s) were already gone and are not in it", err=True)


@click.command()
@click.argument("src", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--force", is_flag=True, help="Replace a database that already holds calls.")
@click.pass_context
def restore(ctx: click.Context, src: Path, force: bool) -> None:
    """Restore a backup made by `appliance backup` (stop the services first)."""
    from appliance.ops.backup import restore as run_restore

    manifest = run_restore(settings_of(ctx), src, force=force)
    click.echo(f"restored {manifest.calls} call(s) and {len(manifest.files)} recording file(s)")


@click.group()
def retention() -> None:
    """How long audio and transcripts are kept."""


@retention.command("list")
@click.pass_context
def retention_list(ctx: click.Context) -> None:
    from appliance.ops.retention import all_policies

    for policy in all_policies(settings_of(ctx), store_of(ctx)):
        where = ", ".join(f"{k}={v}" for k, v in (("direction", policy.direction), ("number", policy.number_pattern),
                                                   ("mailbox", policy.mailbox)) if v) or "every call"
        click.echo(f"{policy.name}: {where}; audio {policy.audio_days or 'kept'} days, "
                   f"transcript {policy.transcript_days or 'kept'} days")


@retention.command("run")
@click.pass_context
def retention_run(ctx: click.Context) -> None:
    """Apply the retention policies now."""
    from appliance.ops.retention import run_retention

    run = run_retention(store_of(ctx), settings_of(ctx))
    click.echo(f"audio removed from {run.audio_removed} call(s), {run.calls_deleted} call(s) deleted")


@click.command()
@click.argument("call_id", type=int)
@click.option("--off", is_flag=True, help="Lift the hold.")
@click.pass_context
def hold(ctx: click.Context, call_id: int, off: bool) -> None:
    """Put a call under legal hold (never deleted), or lift the hold."""
    store = store_of(ctx)
    with store.audit.entry(None, "hold-off" if off else "hold", f"call {call_id}", "command line"):
        store.retention.set_legal_hold(call_id, not off)
    click.echo(f"call {call_id}: legal hold {'lifted' if off else 'set'}")


@click.command()
@click.option("--number", help="A phone number, in any usual notation.")
@click.option("--words", help="Words in the transcripts (the search syntax).")
@click.option("--yes", is_flag=True, help="Erase what was found without asking.")
@click.pass_context
def erase(ctx: click.Context, number: str | None, words: str | None, yes: bool) -> None:
    """Erase every call, voicemail and note involving a number or words (a data subject's request)."""
    from appliance.ops.erasure import erase as run_erase, find

    store = store_of(ctx)
    found = find(store, number, words)
    if not found.calls:
        click.echo("nothing found")
        return
    for call in found.calls:
        held = "  (legal hold: kept)" if call.id in found.held else ""
        click.echo(f"call {call.id:5d}  {call.kind:9s} {call.started_at or ''}  {call.caller or '?'} -> {call.callee or '?'}{held}")
    if not yes and not click.confirm(f"Erase these {len(found.calls) - len(found.held)} for good?"):
        raise ApplianceError("nothing erased")
    result = run_erase(store, settings_of(ctx), found, actor=None)
    click.echo(f"erased {len(result.deleted)} call(s); {len(result.held)} on legal hold kept")
    if result.files_left:
        raise ApplianceError(f"{len(result.files_left)} file(s) could not be removed, first {result.files_left[0]}")
    if not result.file_compacted:
        raise ApplianceError("the database's write-ahead log is held open by another process; run erase again "
                             "once it is idle so no old copy of the data stays in it")


@click.command()
@click.pass_context
def health(ctx: click.Context) -> None:
    """Print what /healthz shows; exit 1 when something is wrong."""
    from appliance.ops.health import health as check

    report = check(settings_of(ctx), store_of(ctx))
    click.echo(json.dumps(report.as_dict(), indent=1))
    if not report.ok:
        ctx.exit(1)


@click.group("audit")
def audit_group() -> None:
    """The audit log."""


@audit_group.command("verify")
@click.pass_context
def audit_verify(ctx: click.Context) -> None:
    """Walk the audit log's hash chain: "ok, N entries", or the first row that was changed,
    removed or put out of order (exit 1)."""
    check = store_of(ctx).audit.verify()
    if check.broken_id is not None:
        click.echo(f"broken at entry {check.broken_id}: changed, or a row before it removed or "
                   f"reordered ({check.entries} entries before it hold)", err=True)
        ctx.exit(1)
    click.echo(f"ok, {check.entries} entries")


COMMANDS = (backup, restore, retention, hold, erase, health, audit_group)
