"""What the store hands out: frozen dataclasses, never rows."""

from __future__ import annotations

from dataclasses import dataclass, field

from appliance.transcript.model import CallMeta


@dataclass(frozen=True)
class EnqueueResult:
    call_id: int
    recording_id: int
    job_id: int
    created: bool  # False when the recording was already known


@dataclass(frozen=True)
class Job:
    id: int
    recording_id: int
    call_id: int
    state: str  # one of schema.JOB_STATES
    attempts: int  # counted at claim, so a worker killed mid-job still uses up an attempt
    progress: float  # 0..1
    error: str | None  # in English
    lease_owner: str | None
    lease_expires: float | None
    not_before: float
    created_at: float
    updated_at: float
    paths: tuple[str, ...]  # one file, or a MixMonitor r()/t() pair: party A, party B
    meta: CallMeta
    options: dict  # decode hints, e.g. {"sample_rate": 8000, "channels": 2, "language": "de"}
    error_code: str | None = None  # the error's case (ApplianceError.code), None for older rows
    error_values: dict = field(default_factory=dict)  # the case's values


@dataclass(frozen=True)
class RemoteWorker:
    name: str  # host:pid as the worker names itself
    model: str
    device: str  # "cpu" or "cuda"
    job_id: int | None  # the job it reported last (progress or announcement), until its result arrives
    jobs_done: int  # results it delivered that were stored
    audio_seconds: float  # of those results' recordings
    busy_seconds: float  # it spent transcribing them
    last_seen: float

    def state(self, now: float, offline_after: float) -> str:
        """"offline" when not heard from for offline_after seconds, else "busy" or "idle"."""
        if now - self.last_seen > offline_after:
            return "offline"
        return "busy" if self.job_id else "idle"

    @property
    def speed(self) -> float | None:
        """Audio seconds transcribed per second of work (x real time)."""
        return self.audio_seconds / self.busy_seconds if self.busy_seconds > 0 else None


@dataclass(frozen=True)
class CallSummary:
    id: int
    uniqueid: str | None
    caller: str | None
    callee: str | None
    direction: str | None
    started_at: str | None
    kind: str
    duration: float | None  # from the transcript; None until there is one
    state: str | None  # state of the call's latest job
    error: str | None
    speakers: tuple[str, ...]
    language: str | None
    created_at: float
    job_id: int | None  # the call's latest job, and the recording it transcribes
    recording_id: int | None
    progress: float  # of the latest job, 0..1
    attempts: int
    error_code: str | None = None  # as Job's
    error_values: dict = field(default_factory=dict)


@dataclass(frozen=True)
class SavedFilter:
    id: int
    name: str
    query: str  # the calls list's query string ("direction=inbound&from=2026-12-01")


MATCH_START = "\ue000"
MATCH_END = "\ue001"


@dataclass(frozen=True)
class SearchHit:
    """One matching turn. The snippet marks matches with MATCH_START/MATCH_END, characters
    from Unicode's private use area that speech never contains (unlike "[" in "[Music]")."""

    call_id: int
    turn_index: int
    speaker: str
    start: float
    snippet: str  # the match between MATCH_START and MATCH_END, cut with …
    rank: float  # FTS5 bm25: lower is better
    caller: str | None
    callee: str | None
    started_at: str | None
    role: str  # the speaker's: "caller", "callee" or "speaker"
    kind: str  # the call's: "call", "voicemail", "note"

    def marked(self, start: str, end: str, escape=str) -> str:
        """The snippet with its matches between `start` and `end`; `escape` for the rest."""
        return escape(self.snippet).replace(MATCH_START, start).replace(MATCH_END, end)


@dataclass(frozen=True)
class User:
    id: int
    username: str  # as first written; looked up without regard to letter case
    password_hash: str
    role: str  # one of users.ROLES
    locale: str  # one of users.LOCALES
    created_at: float
    disabled: bool
    session_version: int = 0  # sessions issued under an older version are void
    may_edit: bool = False  # may change the calls in scope (admins always may): see store.scopes
    password_temporary: bool = False  # set by an admin: the user must choose their own first
    last_login_at: float | None = None
    timezone: str | None = None  # their own IANA zone for times shown to them; None: the site's


@dataclass(frozen=True)
class ApiToken:
    id: int
    user_id: int
    name: str
    created_at: float
    last_used_at: float | None
    expires_at: float
    scope: str  # what it may do: "read", the read-only API (appliance/web/auth.py)


@dataclass(frozen=True)
class CallRecord:
    """One row of the PBX's call detail record (appliance/asterisk/cdr.py), times in UTC ISO."""

    uniqueid: str
    linkedid: str | None = None
    sequence: int = 0
    started_at: str | None = None
    answered_at: str | None = None
    ended_at: str | None = None
    src: str | None = None
    dst: str | None = None
    cnum: str | None = None
    cnam: str | None = None
    did: str | None = None
    dcontext: str | None = None
    channel: str | None = None
    dstchannel: str | None = None
    lastapp: str | None = None
    lastdata: str | None = None
    disposition: str | None = None
    duration: float | None = None
    billsec: float | None = None
    recordingfile: str | None = None

    @property
    def answered_by(self) -> str | None:
        """The extension or trunk that took the call: PJSIP/201-0000002a -> 201."""
        if self.disposition != "ANSWERED" or not self.dstchannel:
            return None
        name = self.dstchannel.split("/", 1)[-1]
        return name.rsplit("-", 1)[0] if "-" in name else name

    @property
    def queue(self) -> str | None:
        return (self.lastdata or "").split(",", 1)[0] or None if self.lastapp == "Queue" else None

    def public(self, when=lambda iso: iso) -> dict:
        """The row as the API and the exports hand it out; `when` writes its times (UTC ISO as kept)."""
        return {"uniqueid": self.uniqueid, "linkedid": self.linkedid, "sequence": self.sequence,
                "started_at": when(self.started_at), "answered_at": when(self.answered_at),
                "ended_at": when(self.ended_at), "src": self.src, "dst": self.dst, "cnam": self.cnam,
                "did": self.did, "answered_by": self.answered_by, "queue": self.queue,
                "disposition": self.disposition, "duration": self.duration, "billsec": self.billsec}


def call_record_summary(records: list[CallRecord]) -> dict:
    """One call's CDR rows as one line of a range export: every leg that answered, the first
    queue and DID, ANSWERED if any leg was, and the talk time of all legs together."""
    answered = [r.disposition for r in records if r.disposition == "ANSWERED"]
    return {
        "answered_by": list(dict.fromkeys(r.answered_by for r in records if r.answered_by)),
        "queue": next((r.queue for r in records if r.queue), None),
        "did": next((r.did for r in records if r.did), None),
        "disposition": answered[0] if answered else (records[0].disposition if records else None),
        "billsec": sum(r.billsec or 0 for r in records) if records else None,
    }


@dataclass(frozen=True)
class PbxSource:
    """A PBX on another machine that hands its recordings to the box (appliance/jobs/upload.py)."""

    id: int
    name: str
    timezone: str  # the zone of the local times in its file names; "" for the box's own
    created_at: float
    last_upload_at: float | None


@dataclass(frozen=True)
class AuditEntry:
    id: int
    at: float
    actor: str | None  # a username, or None for the system or an unknown visitor
    action: str
    target: str | None
    detail: str | None
    hash: str | None = None  # the chain (appliance/store/chain.py)


@dataclass(frozen=True)
class AuditFilter:
    """Which audit entries to show or export; None matches any."""

    actor: str | None = None
    action: str | None = None
    since: float | None = None  # unix seconds, inclusive
    until: float | None = None  # unix seconds, exclusive
    target: str | None = None  # e.g. "call 12"


@dataclass(frozen=True)
class ChainCheck:
    """What `appliance audit verify` found: the first row whose hash does not hold, if any."""

    entries: int
    broken_id: int | None = None
