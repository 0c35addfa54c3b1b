"""`appliance serve`: the web UI on an ASGI server built for many long-lived connections.

uvicorn holds the connections in one event loop: an idle or slow connection costs a socket, not
a thread. Pages are the Flask app, run by a bounded pool of threads (a2wsgi); a request's body
is read whole in the loop before it gets a thread, so a slow upload cannot hold one; a PBX's
recording upload (appliance/web/intake.py) is written to a file as it arrives instead of into
memory, its thread starting once the last byte is there; a recording a view sends
(streams.send_file_later) goes out from the loop at the listener's pace, so a slow or stalled
listener holds no thread either. An event
stream goes through Flask like a page (login, scope, headers), then the view hands it to the hub
(appliance/web/hub.py) and its thread is free again: a stream never holds one.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import resource
import tempfile
from pathlib import Path

from appliance.config import Settings
from appliance.jobs.upload import Body, incoming_folder
from appliance.web.hub import Hub
from appliance.web.intake import BODY_FILE_KEY, INTAKE_PATH
from appliance.web.streams import FILE_KEY, HUB_KEY, SUBSCRIPTION_KEY
from appliance.web.worker import MAX_RESULT_BYTES, WORKER_PATH

PAGE_THREADS = 16  # Flask requests at once; streams hold none
BODY_SECONDS = 30  # a request body must arrive within this, or the request is dropped
_UPLOAD_TOO_LARGE = b"The recording is larger than the limit (setting pbx_upload_max_mb).\n"
FILE_CHUNK = 64 * 1024
FILE_STALL_SECONDS = 120  # a download may be slow, but not stopped this long
UPLOAD_IDLE_SECONDS = 60  # an upload may take long, but not stall this long between two chunks
CONNECTIONS = 4096  # open connections and requests at once; beyond, uvicorn answers 503
FILES = 8192  # file descriptors: a socket each, and the database's
STREAM_PATHS = ("/events", "/live/")  # a stream's view may hand it to the hub


class App:
    """The ASGI application: Flask through a thread pool, streams handed on to the hub."""

    def __init__(self, flask_app, settings: Settings, threads: int = PAGE_THREADS):
        from a2wsgi import WSGIMiddleware

        self.hub = Hub(settings)
        self.wsgi = WSGIMiddleware(flask_app, workers=threads)
        self.max_body = flask_app.config["MAX_CONTENT_LENGTH"]
        self.max_upload = int(settings.pbx_upload_max_mb * (1 << 20))
        self.incoming = incoming_folder(settings)
        self.incoming.mkdir(parents=True, exist_ok=True)
        for stale in self.incoming.iterdir():  # bodies a killed server left half received
            stale.unlink(missing_ok=True)

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            return  # no websockets
        if scope["path"].startswith(INTAKE_PATH) and scope["method"] == "PUT":
            await self._upload(scope, receive, send)
            return
        try:
            # Remote workers post a long call's words; everything else stays under the UI's limit.
            limit = MAX_RESULT_BYTES if scope["path"].startswith(WORKER_PATH) else self.max_body
            receive = await asyncio.wait_for(self._read_body(receive, limit), BODY_SECONDS)
        except asyncio.TimeoutError:
            await _plain(send, 408, b"The request body did not arrive in time.\n")
            return
        except _TooLarge:
            await _plain(send, 413, b"The request body is too large.\n")
            return
        if receive is None:
            return  # the client left before its request was complete
        if not scope["path"].startswith(STREAM_PATHS):
            await self._page(scope, receive, send)
            return
        scope[HUB_KEY] = self.hub
        held = []

        async def hold_the_end(message) -> None:
            # A view that handed its stream on: its response stays open for the hub.
            if message["type"] == "http.response.body" and not message.get("more_body") \
                    and SUBSCRIPTION_KEY in scope:
                held.append(message)
                return
            await send(message)

        await self.wsgi(scope, receive, hold_the_end)
        sub = scope.get(SUBSCRIPTION_KEY)
        if sub is not None:
            await self.hub.run(sub, send, receive)

    async def _read_body(self, receive, limit: int):
        """The whole request body, read here; a receive() that hands it to the thread at once."""
        try:
            chunks = [chunk async for chunk in _body_chunks(receive, limit)]
        except _Gone:
            return None
        return _replay([{"type": "http.request", "body": b"".join(chunks), "more_body": False}],
                       then=receive)

    async def _page(self, scope, receive, send) -> None:
        """A Flask request; a file its view left to the server (a recording) is sent from here."""
        scope[FILE_KEY] = None  # the view may leave (path, start, length) here

        async def body_from_file(message) -> None:
            if message["type"] == "http.response.body" and scope[FILE_KEY] is not None:
                return  # the view's own body is empty; the file follows
            await send(message)

        await self.wsgi(scope, receive, body_from_file)
        if scope[FILE_KEY] is not None:
            await _send_file(send, *scope[FILE_KEY])

    async def _upload(self, scope, receive, send) -> None:
        """A recording's body into a file of its own, then the Flask view with the file's name."""
        length = dict(scope["headers"]).get(b"content-length", b"")
        if length.isdigit() and int(length) > self.max_upload:
            # Before a byte is read: curl waits for this answer to its Expect: 100-continue.
            await _plain(send, 413, _UPLOAD_TOO_LARGE)
            return
        fd, body = tempfile.mkstemp(dir=self.incoming, suffix=".part")
        digest = hashlib.sha256()
        try:
            try:
                with os.fdopen(fd, "wb") as out:
                    async for chunk in _body_chunks(receive, self.max_upload, UPLOAD_IDLE_SECONDS):
                        out.write(chunk)
                        digest.update(chunk)
            except asyncio.TimeoutError:
                await _plain(send, 408, b"The upload stalled.\n")
                return
            except _TooLarge:
                await _plain(send, 413, _UPLOAD_TOO_LARGE)
                return
            except _Gone:
                return  # cut off mid-upload: nothing of it is kept
            scope[BODY_FILE_KEY] = Body(Path(body), digest.hexdigest())
            await self.wsgi(scope, _replay([{"type": "http.request", "body": b"", "more_body": False}], then=receive),
                            send)
        finally:
            Path(body).unlink(missing_ok=True)  # taken in, it was renamed away

    async def _lifespan(self, receive, send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                self.hub.close()
                await send({"type": "lifespan.shutdown.complete"})
                return


class _TooLarge(Exception):
    pass


class _Gone(Exception):
    """The client left before its request body was complete."""


async def _body_chunks(receive, limit: int, idle_seconds: float | None = None):
    """A request body's chunks as they arrive: _TooLarge past `limit` bytes, _Gone when the
    client leaves, asyncio.TimeoutError after `idle_seconds` without a chunk (if given)."""
    size, more = 0, True
    while more:
        message = await (asyncio.wait_for(receive(), idle_seconds) if idle_seconds else receive())
        if message["type"] == "http.disconnect":
            raise _Gone
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise _TooLarge
        yield chunk
        more = message.get("more_body", False)


def _replay(messages: list, then):
    """A receive() that returns these messages first, then waits on `then` (a disconnect)."""
    async def receive():
        if messages:
            return messages.pop(0)
        return await then()

    return receive


async def _send_file(send, path: str, start: int, length: int) -> None:
    """Bytes of a file to a client at the pace it reads: waiting on it costs a socket, not a
    thread; one that stops reading for FILE_STALL_SECONDS is dropped."""
    try:
        with open(path, "rb") as file:
            file.seek(start)
            while length > 0:
                chunk = file.read(min(length, FILE_CHUNK))  # a local disk: microseconds
                if not chunk:
                    break  # the file shrank (erased meanwhile): the client sees a short body
                length -= len(chunk)
                await asyncio.wait_for(send({"type": "http.response.body", "body": chunk, "more_body": length > 0}),
                                       FILE_STALL_SECONDS)
    except (OSError, asyncio.TimeoutError):
        return  # gone or stalled: uvicorn closes the connection


async def _plain(send, status: int, body: bytes) -> None:
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"text/plain; charset=utf-8"), (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": body})


def serve(flask_app, settings: Settings, host: str, port: int) -> None:
    import uvicorn

    # Every connection is a file descriptor: allow as many as the system lets this process have.
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = FILES if hard == resource.RLIM_INFINITY else min(hard, FILES)
    if soft < wanted:
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
    # No access log (paths carry searches and numbers); no proxy headers (the client's address
    # is the socket's, as the login throttle needs it).
    app = App(flask_app, settings)
    config = uvicorn.Config(app, host=host, port=port, lifespan="on", http="h11", loop="asyncio",
                            limit_concurrency=CONNECTIONS, timeout_keep_alive=5,
                            timeout_graceful_shutdown=5, proxy_headers=False, server_header=False,
                            access_log=False, log_level="warning",
                            ssl_certfile=settings.web_tls_certfile, ssl_keyfile=settings.web_tls_keyfile)

    class Server(uvicorn.Server):
        async def shutdown(self, sockets=None) -> None:
            app.hub.end_all()  # open streams would hold the shutdown until its timeout
            await super().shutdown(sockets)

    Server(config).run()
