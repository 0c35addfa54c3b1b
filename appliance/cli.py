"""The `appliance` command: a thin layer of click commands over the library."""

from __future__ import annotations

import json
import logging
import signal
import sys
import threading
import uuid
from datetime import datetime, timezone
from pathlib import Path

import click

from appliance import filemodes
from appliance.cli_context import settings_of, store_of
from appliance.config import load_settings
from appliance.errors import ApplianceError
from appliance.store.users import ROLES
from appliance.transcript.model import CallMeta, valid_uniqueid


@click.group()
@click.option("--config", "config_file", type=click.Path(path_type=Path, dir_okay=False),
              help="Settings file (default: $APPLIANCE_CONFIG or /etc/appliance/appliance.toml).")
@click.option("-v", "--verbose", is_flag=True, help="Log progress to stderr (sizes and times only).")
@click.pass_context
def cli(ctx: click.Context, config_file: Path | None, verbose: bool) -> None:
    """Offline call transcription for Asterisk."""
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    ctx.obj = load_settings(config_file)


@cli.command()
@click.pass_context
def init(ctx: click.Context) -> None:
    """Create the data folders and the database (safe to run again)."""
    settings = settings_of(ctx)
    for folder in (settings.spool_dir, settings.models_dir):
        folder.mkdir(parents=True, exist_ok=True)
    for folder in (settings.data_dir, settings.data_dir / "recordings"):
        filemodes.folder(folder)
    store_of(ctx)
    click.echo(f"database ready: {settings.db_path}")


def _meta_options(f):
    for option in reversed([
        click.option("--uniqueid", help="Asterisk's ${UNIQUEID} of the call."),
        click.option("--caller", help="Calling number or name."),
        click.option("--callee", help="Called number or extension."),
        click.option("--direction", type=click.Choice(["inbound", "outbound", "internal"])),
        click.option("--started-at", help="Start of the call, ISO 8601."),
        click.option("--kind", type=click.Choice(["call", "voicemail", "note"]), default="call", show_default=True),
        click.option("--language", help="Language of the call (default: site setting or per number)."),
        click.option("--sample-rate", type=int, help="Rate of header-less .raw/.sln files."),
        click.option("--channels", type=click.IntRange(1, 2), help="Channels of header-less .raw/.sln files."),
    ]):
        f = option(f)
    return f


def _meta_and_options(kw) -> tuple[CallMeta, dict]:
    if not valid_uniqueid(kw["uniqueid"]):
        raise click.BadParameter("letters, digits, '.', '_' and '-' only (not first: '.'), at most 128",
                                 param_hint="--uniqueid")
    meta = CallMeta(uniqueid=kw["uniqueid"], caller=kw["caller"], callee=kw["callee"],
                    direction=kw["direction"], started_at=kw["started_at"], kind=kw["kind"])
    options = {key: kw[name] for key, name in
               (("language", "language"), ("sample_rate", "sample_rate"), ("channels", "channels")) if kw[name]}
    return meta, options


@cli.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the transcript model as JSON.")
@click.option("--format", "fmt", type=click.Choice(["txt", "srt", "vtt", "json"]), default="txt", show_default=True)
@_meta_options
@click.pass_context
def transcribe(ctx: click.Context, files, as_json: bool, fmt: str, **kw) -> None:
    """Transcribe a recording now (one file or an r()/t() pair); nothing is stored."""
    from appliance.pipeline import transcribe_recording
    from appliance.stt import engine_for
    from appliance.transcript.exports import export

    settings = settings_of(ctx)
    meta, options = _meta_and_options(kw)
    transcript = transcribe_recording(files, meta, settings, engine_for(settings), options=options)
    click.echo(export(transcript, "json" if as_json else fmt), nl=False)


@cli.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@_meta_options
@click.pass_context
def ingest(ctx: click.Context, files, **kw) -> None:
    """Queue a recording for transcription (one file, or an r()/t() pair).

    The file is copied into the appliance's own folder first, so moving or deleting the
    original never loses the recording.
    """
    settings = settings_of(ctx)
    from appliance.disk import intake_paused
    from appliance.jobs.intake import take_in

    if intake_paused(settings):
        raise ApplianceError("too little free disk space for another recording (setting disk_min_free_mb); free some first")
    meta, options = _meta_and_options(kw)
    if not meta.uniqueid:
        meta = CallMeta(**{**meta.__dict__, "uniqueid": f"import-{uuid.uuid4().hex[:12]}"})
    target = settings.data_dir / "recordings" / datetime.now(timezone.utc).strftime("%Y/%m/%d") / meta.uniqueid
    result = take_in(store_of(ctx), meta, files, options, copies=[target / path.name for path in files])
    state = "queued" if result.created else "already queued"
    click.echo(f"call {result.call_id}: job {result.job_id} {state}")


@cli.group()
def hook() -> None:
    """Entry points for Asterisk (on a box where Asterisk can run the appliance's command)."""


@hook.command("recording")
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@_meta_options
@click.pass_context
def hook_recording(ctx: click.Context, files, **kw) -> None:
    """Queue a finished recording where it lies (the spool sweep is the safety net)."""
    from appliance.jobs.intake import take_in

    meta, options = _meta_and_options(kw)
    result = take_in(store_of(ctx), meta, files, options)
    click.echo(f"call {result.call_id}: job {result.job_id} {'queued' if result.created else 'already queued'}")


@hook.command("sweep")
@click.pass_context
def hook_sweep(ctx: click.Context) -> None:
    """Pick up everything waiting in the spool and the voicemail boxes now."""
    from appliance.jobs.voicemail import scan_mailboxes
    from appliance.jobs.spool import sweep

    store, settings = store_of(ctx), settings_of(ctx)
    found = sweep(store, settings) + scan_mailboxes(store, settings)
    click.echo(f"{sum(r.created for r in found)} new job(s)")


@cli.command()
@click.option("--once", is_flag=True, help="Process the jobs that are due (with a broker: hand them out), then exit.")
@click.option("--remote", is_flag=True,
              help="Be a remote worker: take jobs from the broker and work for the box (needs the models only).")
@click.option("--broker", help="The broker's address (default: setting broker_url).")
@click.option("--box", help="With --remote: the box's web address (default: setting box_url).")
@click.pass_context
def worker(ctx: click.Context, once: bool, remote: bool, broker: str | None, box: str | None) -> None:
    """Run the transcription worker (with the spool sweep and lease recovery).

    With a broker (setting broker_url) the box's worker hands jobs to remote workers instead
    of transcribing them; `--remote` runs one of those on another machine.
    """
    settings = settings_of(ctx)
    broker = broker or settings.broker_url
    if remote:
        from appliance.jobs.remote import serve as serve_remote

        box = box or settings.box_url
        if not broker or not box:
            raise ApplianceError("a remote worker needs the broker's and the box's address (--broker, --box)")
        serve_remote(settings, broker, box)
        return

    from appliance.jobs.nudge import Nudges
    from appliance.jobs.scheduler import start_scheduler
    from appliance.jobs.spool import sweep
    from appliance.ops.schedule import add_ops_jobs

    settings.spool_dir.mkdir(parents=True, exist_ok=True)
    store = store_of(ctx)
    if broker:
        from appliance.jobs.broker import celery_app, publish
        from appliance.jobs.dispatch import Dispatcher

        app = celery_app(broker)
        work = Dispatcher(settings, store, lambda ticket: publish(app, ticket))
    else:
        from appliance.jobs.worker import Worker

        work = Worker(settings, store)
    if once:
        sweep(store, settings)
        if broker:
            click.echo(f"handed {work.run_once()} job(s) to the broker")
            return
        count = 0
        while work.run_once():
            count += 1
        click.echo(f"processed {count} job(s)")
        return
    stop = threading.Event()
    def on_signal(*_) -> None:
        stop.set()
        work.jobs_queued.set()  # the worker may be waiting for a job: let it see the stop

    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, on_signal)
    scheduler = start_scheduler(settings, more=[add_ops_jobs])
    nudges = Nudges(settings, work.jobs_queued)
    if not broker:
        # Remote results arrive through the web; the scheduler's mail job sends theirs.
        work.on_finished = lambda job: nudges.mail_now()
    nudges.start()
    if broker:
        from appliance.jobs.presence import listen

        listen(app, store)  # the remote workers' announcements, for the jobs page
    target = f"broker {broker.rpartition('@')[2]}" if broker else f"database {settings.db_path}"
    click.echo(f"worker watching {settings.spool_dir} ({target})")
    try:
        work.run_forever(stop)
    finally:
        nudges.stop()
        scheduler.shutdown(wait=False)


@cli.command()
@click.option("--limit", default=50, show_default=True)
@click.pass_context
def calls(ctx: click.Context, limit: int) -> None:
    """List calls, newest first."""
    rows = store_of(ctx).calls.page(limit=limit)
    if not rows:
        click.echo("no calls yet")
    for c in rows:
        duration = f"{c.duration:6.1f}s" if c.duration is not None else "      -"
        parties = f"{c.caller or '?'} -> {c.callee or '?'}"
        when = c.started_at or datetime.fromtimestamp(c.created_at, timezone.utc).isoformat(timespec="seconds")
        click.echo(f"{c.id:5d}  {when}  {c.kind:9s} {duration}  {c.state:11s} {parties}")


@cli.command()
@click.argument("call_id", type=int)
@click.option("--format", "fmt", type=click.Choice(["txt", "srt", "vtt", "json", "vcon"]), default="txt", show_default=True)
@click.option("--inline", is_flag=True, help="vCon: the recording inside it (base64url), not referenced by URL.")
@click.pass_context
def show(ctx: click.Context, call_id: int, fmt: str, inline: bool) -> None:
    """Print a call's transcript (JSON: with its conversation metrics and the PBX's call records;
    vCon: the whole call)."""
    from appliance.analytics.metrics import stored_public
    from appliance.transcript.exports import export

    store = store_of(ctx)
    summary = store.calls.get(call_id)
    transcript = store.transcripts.get(call_id)
    if transcript is None:
        reason = f": {summary.error}" if summary.error else ""
        raise ApplianceError(f"call {call_id} has no transcript yet (job {summary.state}{reason})")
    if fmt == "vcon":
        from appliance.web.vcon import call_vcon

        vcon = call_vcon(store, settings_of(ctx), call_id, inline)
        store.audit.add(None, "export", f"call {call_id}",
                    "vcon, audio inline (command line)" if inline else "vcon (command line)")
        click.echo(json.dumps(vcon, ensure_ascii=False, indent=2))
        return
    metrics = stored_public(store.metrics.of_calls([call_id]).get(call_id), [s.label for s in transcript.speakers])
    records = [record.public() for record in store.cdr.of_call(call_id)]
    click.echo(export(transcript, fmt, metrics=metrics, records=records), nl=False)


@cli.command()
@click.argument("query")
@click.option("--limit", default=20, show_default=True)
@click.pass_context
def search(ctx: click.Context, query: str, limit: int) -> None:
    """Full-text search over all transcripts ("a phrase", prefix*, AND/OR/NOT)."""
    hits = store_of(ctx).search.hits(query, limit=limit)
    if not hits:
        click.echo("no matches")
    for hit in hits:
        minutes, seconds = divmod(int(hit.start), 60)
        click.echo(f"call {hit.call_id} at {minutes:02d}:{seconds:02d}  {hit.speaker}: {hit.marked('[', ']')}")


@cli.group(invoke_without_command=True)
@click.option("--failed", is_flag=True, help="Only failed and quarantined jobs.")
@click.pass_context
def jobs(ctx: click.Context, failed: bool) -> None:
    """List jobs (queued, running with progress, failed with the reason)."""
    if ctx.invoked_subcommand:
        return
    store = store_of(ctx)
    stats = store.jobs.queue_stats()
    click.echo("  ".join(f"{state}: {count}" for state, count in stats.items()))
    for job in store.jobs.all(["failed", "quarantined"] if failed else None):
        progress = f" {job.progress:4.0%}" if job.state == "running" else ""
        reason = f"  {job.error}" if job.error and job.state != "done" else ""
        click.echo(f"job {job.id:5d}  call {job.call_id:5d}  {job.state}{progress} (attempts {job.attempts}){reason}")


@jobs.command("retry")
@click.argument("job_id", type=int)
@click.pass_context
def jobs_retry(ctx: click.Context, job_id: int) -> None:
    """Queue a failed or quarantined job again."""
    store_of(ctx).jobs.retry(job_id)
    click.echo(f"job {job_id} queued again")


@cli.group()
def models() -> None:
    """Install, verify and list local models (never from a hub)."""


@models.command("list")
@click.pass_context
def models_list(ctx: click.Context) -> None:
    from appliance import models as model_registry

    for spec, status in model_registry.statuses(settings_of(ctx)):
        state = "ok" if status.ok else "; ".join(status.problems)
        about = f"{spec.kind}, {spec.licence}: {spec.description}" if spec else "admin-provided"
        click.echo(f"{status.name:20s} {state:16s} {about}")


@models.command("install")
@click.argument("name")
@click.option("--from", "source", type=click.Path(exists=True, path_type=Path),
              help="An admin-provided model folder or .tar(.gz)/.zip archive.")
@click.option("--sha256", help="The archive's sha256 as its publisher lists it; checked before unpacking.")
@click.pass_context
def models_install(ctx: click.Context, name: str, source: Path | None, sha256: str | None) -> None:
    from appliance import models as model_registry

    folder = model_registry.install(settings_of(ctx), name, source, sha256)
    click.echo(f"installed {name} in {folder} (sha256 verified)")


@models.command("verify")
@click.argument("names", nargs=-1)
@click.pass_context
def models_verify(ctx: click.Context, names) -> None:
    from appliance import models as model_registry

    bad = []
    for spec, status in model_registry.statuses(settings_of(ctx)):
        if names and status.name not in names or not names and not status.installed:
            continue
        click.echo(f"{status.name}: {'ok' if status.ok else '; '.join(status.problems)}")
        if not status.ok:
            bad.append(status.name)
    if bad:
        raise ApplianceError(f"verification failed for {', '.join(bad)}; reinstall with: appliance models install NAME")


@cli.group()
def vocab() -> None:
    """The site vocabulary: names and terms the recogniser should get right."""


@vocab.command("list")
@click.pass_context
def vocab_list(ctx: click.Context) -> None:
    for term in store_of(ctx).vocabulary.all():
        click.echo(term)


@vocab.command("add")
@click.argument("terms", nargs=-1, required=True)
@click.pass_context
def vocab_add(ctx: click.Context, terms) -> None:
    store = store_of(ctx)
    for term in terms:
        store.vocabulary.add(term)


@vocab.command("remove")
@click.argument("term")
@click.pass_context
def vocab_remove(ctx: click.Context, term: str) -> None:
    store_of(ctx).vocabulary.remove(term)


@cli.command()
@click.option("--host", help="Address to listen on (default: setting web_host).")
@click.option("--port", type=int, help="Port (default: setting web_port).")
@click.pass_context
def serve(ctx: click.Context, host: str | None, port: int | None) -> None:
    """Serve the web UI on the LAN (production server: uvicorn, pages in a thread pool)."""
    from appliance.web import create_app
    from appliance.web.server import serve as run_server

    settings = settings_of(ctx)
    host, port = host or settings.web_host, port or settings.web_port
    click.echo(f"web UI on {'https' if settings.web_tls_certfile else 'http'}://{host}:{port}/")
    run_server(create_app(settings=settings), settings, host, port)


@cli.command("import-freepbx")
@click.option("--since", type=click.DateTime(["%Y-%m-%d"]), help="Files of this day and later (default: the last freepbx_scan_days days).")
@click.pass_context
def import_freepbx(ctx: click.Context, since: datetime | None) -> None:
    """Import the recordings of FreePBX's monitor tree (setting freepbx_monitor_dir) once each."""
    from appliance.jobs.freepbx import import_tree

    settings = settings_of(ctx)
    if settings.freepbx_monitor_dir is None or not settings.freepbx_monitor_dir.is_dir():
        raise ApplianceError("set freepbx_monitor_dir to FreePBX's recording folder (/var/spool/asterisk/monitor)")
    queued = import_tree(store_of(ctx), settings, since.date() if since else None)
    click.echo(f"{len(queued)} recording(s) queued")


@cli.group()
def cdr() -> None:
    """The PBX's call records (settings cdr_csv_path, cdr_sqlite_path, cdr_database_url)."""


@cdr.command("sync")
@click.option("--days", type=float, help="How far back (default: setting cdr_scan_days).")
@click.pass_context
def cdr_sync(ctx: click.Context, days: float | None) -> None:
    """Link the call records of the last days to the calls transcribed here, now (Master.csv:
    its end read again, not only what was added since the last scan)."""
    from dataclasses import replace

    from appliance.asterisk.cdr import sync

    settings = settings_of(ctx)
    if not (settings.cdr_csv_path or settings.cdr_sqlite_path or settings.cdr_database_url):
        raise ApplianceError("set cdr_csv_path, cdr_sqlite_path or cdr_database_url to where the PBX keeps its CDR")
    if days is not None:
        settings = replace(settings, cdr_scan_days=days)
    click.echo(f"{sync(store_of(ctx), settings, resume=False)} call record(s) linked")


@cli.group()
def pbx() -> None:
    """PBXs on other machines that upload their recordings (asterisk-config/appliance-upload)."""


@pbx.command("add")
@click.argument("name")
@click.option("--timezone", "zone", default="", help="The zone of the local times in its file names "
              "(FreePBX's; default: this box's), e.g. Europe/Berlin.")
@click.pass_context
def pbx_add(ctx: click.Context, name: str, zone: str) -> None:
    """Allow a PBX to upload; prints its token once (for /etc/appliance-upload.conf there)."""
    from appliance.config import zone_named
    from appliance.jobs.upload import new_token

    if zone and zone_named(zone) is None:
        raise click.BadParameter(f"unknown time zone {zone!r}", param_hint="--timezone")
    token, token_hash = new_token()
    store = store_of(ctx)
    try:
        with store.audit.entry(None, "pbx-add", f"pbx {name}", "command line"):
            store.pbx.add(name, token_hash, zone)
    except ValueError as error:
        raise ApplianceError(str(error)) from None
    click.echo(f"PBX {name} may upload; its token (shown once): {token}")


@pbx.command("pull")
@click.pass_context
def pbx_pull(ctx: click.Context) -> None:
    """Fetch the PBX's new recordings now (rsync over ssh: setting pbx_pull_from) and queue them."""
    from appliance.jobs.pull import pull

    click.echo(f"{len(pull(store_of(ctx), settings_of(ctx)))} recording(s) queued")


@pbx.command("list")
@click.pass_context
def pbx_list(ctx: click.Context) -> None:
    """The PBXs that may upload, and when each last did."""
    for source in store_of(ctx).pbx.all():
        last = datetime.fromtimestamp(source.last_upload_at).isoformat(" ", "seconds") if source.last_upload_at else "never"
        click.echo(f"{source.name:20s} zone {source.timezone or '(this box)':20s} last upload {last}")


@pbx.command("revoke")
@click.argument("name")
@click.pass_context
def pbx_revoke(ctx: click.Context, name: str) -> None:
    """End a PBX's uploads (its token stops working at once)."""
    store = store_of(ctx)
    with store.audit.entry(None, "pbx-revoke", f"pbx {name}", "command line"):
        store.pbx.revoke(name)
    click.echo(f"PBX {name} may no longer upload")


@cli.group()
def users() -> None:
    """Web UI accounts: roles admin, supervisor, agent, receptionist, viewer, and what each sees."""


def _scope_entries(values: tuple[str, ...]) -> list:
    """--scope KIND[:VALUE] options as store entries; a readable error for a bad one."""
    from appliance.store.scopes import parse_entries

    try:
        return parse_entries("\n".join(values))
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint="--scope") from None


PASSWORD_HELP = ("Ask for the password instead (hidden, twice; or two lines on stdin) and keep it: "
                 "without it one is generated, printed once and must be changed at the first login.")


def _password(chosen: bool) -> tuple[str, bool]:
    """The password and whether it is temporary: typed by the user it stays, generated it is
    printed and must be replaced at the first login (appliance/web/passwords.py)."""
    from appliance.web.auth import new_password
    from appliance.web.passwords import MAX_LENGTH, MIN_LENGTH

    if not chosen:
        return new_password(), True
    # Piped in (a provisioning script), there is no terminal whose echo getpass could turn off.
    password = click.prompt("Password", hide_input=sys.stdin.isatty(), confirmation_prompt=True)
    if not MIN_LENGTH <= len(password) <= MAX_LENGTH:
        raise click.BadParameter(f"a password needs {MIN_LENGTH} to {MAX_LENGTH} characters",
                                 param_hint="--password")
    return password, False


SCOPE_HELP = ("What the user sees, repeatable: extension:201, number:+4930123, mailbox:1000, "
              "group:Team A, or all (every call). Without one a non-admin sees no call.")


@users.command("add")
@click.argument("username")
@click.option("--role", type=click.Choice(ROLES), default="viewer", show_default=True)
@click.option("--locale", type=click.Choice(["en", "de"]), default="en", show_default=True)
@click.option("--scope", "scope", multiple=True, metavar="KIND[:VALUE]", help=SCOPE_HELP)
@click.option("--may-edit", is_flag=True, help="May rename speakers and correct transcripts.")
@click.option("--password", "chosen", is_flag=True, help=PASSWORD_HELP)
@click.pass_context
def users_add(ctx: click.Context, username: str, role: str, locale: str, scope: tuple[str, ...],
              may_edit: bool, chosen: bool) -> None:
    """Add a user with a generated password (printed once, changed at the first login)."""
    from appliance.web.auth import hash_password

    entries = _scope_entries(scope)
    store = store_of(ctx)
    if store.users.by_name(username):
        raise ApplianceError(f"user {username!r} exists; use: appliance users passwd {username}")
    password, temporary = _password(chosen)
    hashed = hash_password(password)
    with store.audit.entry(None, "user-add", f"user {username}", f"{role} (command line)"):
        user = store.users.add(username, hashed, role, locale, temporary=temporary)
        store.users.set_scope_entries(user.id, entries)
        store.users.set_may_edit(user.id, may_edit)
    click.echo(f"user {username} ({role}) created" + (f"; password: {password}" if temporary else ""))


@users.command("scope")
@click.argument("username")
@click.option("--scope", "scope", multiple=True, metavar="KIND[:VALUE]", help=SCOPE_HELP)
@click.option("--may-edit/--no-edit", default=None, help="Change the edit permission.")
@click.pass_context
def users_scope(ctx: click.Context, username: str, scope: tuple[str, ...], may_edit: bool | None) -> None:
    """Replace what a user sees (the --scope options given), or show it without options."""
    store = store_of(ctx)
    user = store.users.by_name(username)
    if user is None:
        raise ApplianceError(f"no user {username!r}; add one with: appliance users add {username}")
    if scope:
        with store.audit.entry(None, "user-scope", f"user {username}", ", ".join(scope) + " (command line)"):
            store.users.set_scope_entries(user.id, _scope_entries(scope))
    if may_edit is not None:
        with store.audit.entry(None, "user-edit-permission", f"user {username}", f"{may_edit} (command line)"):
            store.users.set_may_edit(user.id, may_edit)
    click.echo(_scope_line(store, store.users.get(user.id)))


def _scope_line(store, user) -> str:
    from appliance.store.scopes import describe

    shown = describe(store.users.scope_entries(user.id))
    if user.role == "admin":
        shown = "all (admin)"
    edit = "  may edit" if user.may_edit or user.role == "admin" else ""
    disabled = "  (disabled)" if user.disabled else ""
    temporary = "  (generated password not yet changed)" if user.password_temporary else ""
    return f"{user.username:20s} {user.role:12s} {user.locale}  sees: {shown or 'nothing'}{edit}{disabled}{temporary}"


@users.command("passwd")
@click.argument("username")
@click.option("--password", "chosen", is_flag=True, help=PASSWORD_HELP)
@click.pass_context
def users_passwd(ctx: click.Context, username: str, chosen: bool) -> None:
    """Give a user a new generated password (printed once, changed at the next login)."""
    from appliance.web.auth import hash_password

    store = store_of(ctx)
    user = store.users.by_name(username)
    if user is None:
        raise ApplianceError(f"no user {username!r}; add one with: appliance users add {username}")
    password, temporary = _password(chosen)
    hashed = hash_password(password)
    with store.audit.entry(None, "user-reset-password", f"user {username}", "command line"):
        store.users.set_password(user.id, hashed, temporary=temporary)
    click.echo(f"new password for {username}: {password}" if temporary else f"password of {username} changed")


@users.command("delete")
@click.argument("username")
@click.pass_context
def users_delete(ctx: click.Context, username: str) -> None:
    """Delete a user (not the last admin): sessions and API tokens end, audit entries stay."""
    store = store_of(ctx)
    user = store.users.by_name(username)
    if user is None:
        raise ApplianceError(f"no user {username!r}")
    with store.audit.entry(None, "user-delete", f"user {user.username}", "command line"):
        store.users.delete(user.id)
    click.echo(f"user {user.username} deleted; their audit entries stay")


@users.command("list")
@click.pass_context
def users_list(ctx: click.Context) -> None:
    store = store_of(ctx)
    for user in store.users.all():
        click.echo(_scope_line(store, user))


@cli.command()
@click.option("--timeout", default=240.0, show_default=True, help="Seconds to wait for the whole test.")
@click.pass_context
def selftest(ctx: click.Context, timeout: float) -> None:
    """Place a test call through Asterisk and check every stage up to search."""
    from appliance.asterisk.selftest import run_selftest

    def show(stage) -> None:
        mark = "ok  " if stage.ok else "FAIL"
        click.echo(f"{mark} {stage.name:20s} {stage.seconds:6.1f} s  {stage.detail}")

    stages = run_selftest(settings_of(ctx), timeout=timeout, on_stage=show)
    failed = next((s for s in stages if not s.ok), None)
    if failed:
        raise ApplianceError(f"self-test failed at stage '{failed.name}': {failed.detail}")
    click.echo("self-test passed")


@cli.group("asterisk")
def asterisk_group() -> None:
    """The Asterisk configuration the appliance installs."""


@asterisk_group.command("install-config")
@click.option("--dest", type=click.Path(path_type=Path), default=Path("/etc/asterisk"), show_default=True)
@click.option("--spool-path", type=click.Path(path_type=Path),
              help="The spool folder as Asterisk sees it (default: setting spool_dir).")
@click.pass_context
def asterisk_install_config(ctx: click.Context, dest: Path, spool_path: Path | None) -> None:
    """Write the appliance's .conf files and hook (secrets generated once, kept on the box)."""
    from appliance.asterisk.install import render_config
    from appliance.ivr.dialplan import menu_contexts

    settings = settings_of(ctx)
    for path in render_config(settings, dest, menus=menu_contexts(settings), spool_for_asterisk=spool_path):
        click.echo(f"wrote {path}")
    (settings.spool_dir / "recording").mkdir(parents=True, exist_ok=True)


@cli.command()
@click.pass_context
def demo(ctx: click.Context) -> None:
    """Put a demo call (two real voices, stereo) into the queue."""
    from appliance import democall
    from appliance.jobs.intake import take_in

    settings = settings_of(ctx)
    folder = settings.data_dir / "demo"
    folder.mkdir(parents=True, exist_ok=True)
    path = democall.write_stereo_wav(democall.mix_call(), folder / "demo-call.wav")
    meta = CallMeta(uniqueid="demo-call-1", caller="+49 30 1234567", callee="200", direction="inbound",
                    started_at=datetime.now(timezone.utc).isoformat(timespec="seconds"))
    result = take_in(store_of(ctx), meta, [path])
    click.echo(f"demo call {result.call_id}: job {result.job_id} {'queued' if result.created else 'already queued'}")


# Commands that live beside their feature (each module is light to import).
from appliance.ivr.cli import ivr as _ivr  # noqa: E402
from appliance.live.cli import live as _live  # noqa: E402
from appliance.ops.cli import COMMANDS as _OPS_COMMANDS  # noqa: E402 - backup, restore, retention, erase, ...

for _command in (*_OPS_COMMANDS, _live, _ivr):
    cli.add_command(_command)


def main() -> None:
    try:
        # Without standalone mode click returns ctx.exit()'s code instead of exiting with it.
        code = cli.main(standalone_mode=False)
        if isinstance(code, int) and code:
            sys.exit(code)
    except click.exceptions.Abort:
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except ApplianceError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)


if __name__ == "__main__":
    main()
