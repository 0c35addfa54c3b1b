"""The server's event-stream hub: every open stream, fed by one poller, without a thread each.

A stream is an asyncio task waiting on its queue; the poller task wakes at the fastest feed's
pace, and in one worker thread of its own (never one of the page threads) asks the store what is
new: once per group of streams at the same position of the same feed and scope, not once per
stream, and for the calls feed not at all while nothing changed anywhere (Feed.latest). A slow
reader's queue fills and its stream ends; the browser reconnects with Last-Event-ID.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor

from appliance.config import Settings
from appliance.errors import NotFound
from appliance.store import Store
from appliance.web.streams import StreamCounts, Subscription

log = logging.getLogger(__name__)

STREAM_SECONDS = 300  # then the browser reconnects: its login and scope are checked again
KEEPALIVE_SECONDS = 15
QUEUE_CHUNKS = 256  # unsent chunks a stream may hold before it is ended as too slow


class _Stream:
    def __init__(self, sub: Subscription):
        self.sub = sub
        self.queue: asyncio.Queue[str | None] = asyncio.Queue(QUEUE_CHUNKS)

    def put(self, chunks: list[str], end: bool) -> None:
        try:
            for chunk in chunks:
                self.queue.put_nowait(chunk)
            if end:
                self.queue.put_nowait(None)
        except asyncio.QueueFull:
            self.queue = _ended()


def _ended() -> asyncio.Queue:
    queue: asyncio.Queue = asyncio.Queue(1)
    queue.put_nowait(None)
    return queue


class Hub:
    def __init__(self, settings: Settings):
        self.settings = settings
        self.counts = StreamCounts()
        self._streams: set[_Stream] = set()
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="streams")
        self._poller: asyncio.Task | None = None
        self._due: dict[int, float] = {}  # next poll time per feed (by id)

    def open_streams(self) -> int:
        return len(self._streams)

    async def run(self, sub: Subscription, send, receive) -> None:
        """Feed `sub` to the client until the stream ends, the client leaves or is too slow."""
        stream = _Stream(sub)
        self._streams.add(stream)
        if self._poller is None or self._poller.done():
            self._poller = asyncio.get_running_loop().create_task(self._poll_forever())
        left = asyncio.ensure_future(_disconnected(receive))
        loop = asyncio.get_running_loop()
        deadline = loop.time() + STREAM_SECONDS
        try:
            while not left.done() and loop.time() < deadline:
                got = asyncio.ensure_future(stream.queue.get())
                await asyncio.wait({got, left}, timeout=KEEPALIVE_SECONDS,
                                   return_when=asyncio.FIRST_COMPLETED)
                if not got.done():
                    got.cancel()
                    if not left.done():
                        await _body(send, ": keepalive\n\n")
                    continue
                chunk = got.result()
                if chunk is None:
                    break
                await _body(send, chunk)
            if not left.done():
                await send({"type": "http.response.body", "body": b"", "more_body": False})
        finally:
            left.cancel()
            self._streams.discard(stream)
            self.counts.release(sub.user_id)

    async def _poll_forever(self) -> None:
        loop = asyncio.get_running_loop()
        while self._streams:
            streams = list(self._streams)
            now = loop.time()
            due = [s for s in streams if self._due.get(id(s.sub.feed), 0) <= now]
            if due:
                for feed in {id(s.sub.feed): s.sub.feed for s in due}.values():
                    self._due[id(feed)] = now + feed.poll_seconds
                try:
                    results = await loop.run_in_executor(self._executor, self._poll, due)
                except Exception:  # a locked or broken database: the streams wait, pages report it
                    log.exception("event streams: poll failed")
                    results = []
                for stream, chunks in results:
                    stream.put(chunks, stream.sub.done)
            feeds = {id(s.sub.feed): s.sub.feed for s in streams}.values()
            await asyncio.sleep(min(feed.poll_seconds for feed in feeds) / 2 if feeds else 0.1)
        self._due.clear()

    def _poll(self, streams: list[_Stream]) -> list[tuple[_Stream, list[str]]]:
        """In the executor's thread: what is new for each stream, one store query per group."""
        # A connection per round, as a page has one per request: one held open between rounds
        # would keep SQLite from closing the file handles of the pages' closed connections.
        with Store.open(self.settings) as store:
            return self._poll_in(store, streams)

    def _poll_in(self, store: Store, streams: list[_Stream]) -> list[tuple[_Stream, list[str]]]:
        ended = _logged_out(store, streams)
        for stream in ended:
            stream.sub.done = True  # the stream ends as its login did, not minutes later
        streams = [stream for stream in streams if stream not in ended]
        latest = {}
        for feed in {id(s.sub.feed): s.sub.feed for s in streams}.values():
            latest[id(feed)] = feed.latest(store)
        groups: dict[tuple, list[_Stream]] = defaultdict(list)
        for stream in streams:
            sub, position = stream.sub, latest[id(stream.sub.feed)]
            if position is not None:
                if sub.mark >= position:
                    # Nothing changed after `position`: ask from there, so that streams of one
                    # scope share a poll (a change in between is sent twice at worst, harmless).
                    sub.mark = position
                    continue
            groups[sub.key()].append(stream)
        results = [(stream, []) for stream in ended]
        for members in groups.values():
            first = members[0].sub
            chunks = first.feed.poll(store.scoped(first.scope), first)
            for stream in members:
                stream.sub.follow(first)
                results.append((stream, chunks))
        return results

    def end_all(self) -> None:
        """End every stream now (the server is stopping); browsers reconnect to the next one."""
        for stream in list(self._streams):
            stream.put([], True)

    def close(self) -> None:
        self._executor.shutdown()


def _logged_out(store: Store, streams: list[_Stream]) -> list[_Stream]:
    """Streams whose login has ended since they were opened: a logout, a revocation of the
    user's sessions, a disabled or deleted account."""
    valid: dict[int, int | None] = {}
    for stream in streams:
        if stream.sub.user_id not in valid:
            try:
                user = store.users.get(stream.sub.user_id)
                valid[user.id] = None if user.disabled else user.session_version
            except NotFound:
                valid[stream.sub.user_id] = None
    return [s for s in streams if valid[s.sub.user_id] != s.sub.session_version]


async def _disconnected(receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass


async def _body(send, text: str) -> None:
    await send({"type": "http.response.body", "body": text.encode(), "more_body": True})
