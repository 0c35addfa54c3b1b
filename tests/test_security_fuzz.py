"""Issue 15, hostile input everywhere: every route of the app, every parameter its view reads,
about twenty hostile values each, as the admin and as the scoped agent, against a real
`appliance serve` (tests/support/served.py). Never a 500, never a traceback (in the answer or the
server's log), and an /api path always answers JSON.

ROUTES below must name every rule of the app (the walk fails on a new one until it is added)
and every parameter the views read (a name read in appliance/web that no route fuzzes fails
too), so a new route or a new parameter cannot slip in unfuzzed.
"""

from __future__ import annotations

import hashlib
import http.client
import re
import threading
import urllib.parse
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from appliance.config import load_settings
from appliance.jobs.contract import REMOTE_PREFIX, sign, worker_secret
from appliance.web import create_app
from appliance.jobs.upload import new_token
from appliance.web.intake import INTAKE_PATH
from appliance.web.worker import WORKER_PATH

WEB = Path(__file__).resolve().parents[1] / "appliance" / "web"

# Hostile values by what a parameter holds. Every parameter gets EVERY (empty and blank, NUL,
# header injection, 10 KB, invalid UTF-8: a lone surrogate as WTF-8 and bytes that are no UTF-8,
# a bidi override, a path) and the values sharp for its kind, each on its own with the other
# fields sane (a value refused early would hide the fields read after it); a GET's arguments
# also get EVERY all at once (a form sent empty). An id in a path gets PATH_ID.
EVERY: tuple[str | bytes, ...] = (
    "", " \t\n", "\x00", "\r\nX-Injected: 1", "x" * 10_000, b"\xed\xa0\x80", b"\xff\xfe", "😀\u202e",
    "../../../../etc/passwd",
)
# Too big (the largest id the app takes, then beyond SQLite's integers), negative, not ASCII,
# not numbers.
NUMBER = ("-1", "0", "999999999999", "99999999999999999999", "9" * 400, "١", "２", "1e9", "NaN", '"')
DATE = ("2024-02-30", "0000-00-00", "٢٠٢٤-٠١-٠١", "99999-01-01", "-1", "99999999999999999999")
# One of a few words: another letter case, a look-alike that casefolds, a number.
CHOICE = ("ADMIN", "ſ", "0", "-1", "١")
# FTS5 and SQL syntax, LIKE wildcards, JSON, a spreadsheet formula, markup, an encoded path,
# numbers where words are expected.
TEXT = ('"', "*", "a*", 'NEAR("a" "b", -1)', "-", "a OR", "' OR 1=1 --", "%_", '{"a":', "=cmd|' /C calc'!A0",
        "<script>alert(1)</script>", "ſ", "..%2f..%2fetc", "١", "99999999999999999999")
# A user name (creating one hashes a password: the costly request of the walk): a look-alike
# that casefolds, markup, a formula, a non-ASCII digit.
NAME = ("ſ", "<script>alert(1)</script>", "=cmd|' /C calc'!A0", "١", "'")
RANGE = ("bytes=0-", "bytes= 0-", "bytes=1-", "bytes=-0", "bytes=0-1,2-3", "bytes=99999999999999999999-",
         "bytes=١-", "bytes=5-1", "items=0-")
AUTHORIZATION = ("Bearer ", "Bearer x", "Basic Og==", "Bearer " + "x" * 7000, "bearer  \t")
KINDS = {"number": NUMBER, "date": DATE, "choice": CHOICE, "text": TEXT, "name": NAME, "secret": (),
         "range": RANGE, "authorization": AUTHORIZATION}
# What each parameter holds; one not named here is text (the kind with the most values).
KIND = {
    **dict.fromkeys(("page", "since", "after", "token_id", "policy_id", "id", "days", "audio_days",
                     "transcript_days", "call", "hold", "play", "Last-Event-ID", "turn", "word", "speaker",
                     "longer", "shorter"), "number"),
    **dict.fromkeys(("from", "to"), "date"),
    **dict.fromkeys(("state", "kind", "role", "locale", "action", "direction", "fields", "enabled", "may_edit",
                     "confirm", "fmt", "inline", "sort", "dir", "all_calls", "name_source",
                     "mail_language", "phrase_party", "phrase_meets"), "choice"),
    "username": "name",
    **dict.fromkeys(("password", "current", "new", "repeat"), "secret"),  # only hashed: EVERY is enough
    "Range": "range", "Authorization": "authorization",
}
# An <int:...> in a path: the converter's edges (12 digits pass, 13 do not) and what it refuses.
PATH_ID = ("0", "999999", "999999999999", "9999999999999", "-1", "١", "", "\x00", b"\xed\xa0\x80")


def values_for(name: str) -> tuple[str | bytes, ...]:
    return EVERY + KINDS[KIND.get(name, "text")]


# Bodies of the JSON endpoints: not JSON, the wrong shapes, wrong types, nested too deep.
JSON_BODIES: tuple[bytes, ...] = (
    b"", b"{", b"null", b"[]", b'"x"', b"1e999", b"NaN", b"{}", b'{"progress": "x"}',
    b'{"progress": 1e999}', b'{"progress": true}', b'{"reason": {"a": 1}, "permanent": "yes"}',
    b'{"job_id": 1, "transcript": null}', b'{"job_id": "1", "transcript": {}}',
    b'{"job_id": 1, "transcript": {"turns": "x"}}', b'{"job_id": 1, "transcript": {"language": 1, '
    b'"engine": [], "model": {}, "duration": "long", "speakers": [[]], "turns": [{"speaker": "x"}]}}',
    b"[" * 100_000, b'{"a":' * 50_000, "\ud800".encode("utf-8", "surrogatepass"), b"\xff\xfe\x00",
)


@dataclass(frozen=True)
class Shape:
    """One way to call a route: the method, where its fields go, the fields fuzzed one at a
    time and the sane values of every field (so that the view reaches each fuzzed one)."""

    method: str = "GET"
    fuzz: tuple[str, ...] = ()
    sane: dict = field(default_factory=dict)
    headers: tuple[str, ...] = ()  # request headers the view reads, fuzzed too
    query: tuple[str, ...] = ()  # POST only: fields the view reads from the query string


def get(*fuzz: str, headers: tuple[str, ...] = (), **sane) -> Shape:
    return Shape("GET", fuzz, sane, headers)


def post(*fuzz: str, query: tuple[str, ...] = (), **sane) -> Shape:
    return Shape("POST", fuzz, sane, query=query)


LIST = ("page", "from", "to", "number")
ORDER = ("sort", "dir")  # the calls list's order
FILTERS = ("state", "kind", "direction", "extension", "speaker", "longer", "shorter", "keyword", "alert", "unheard",
           "weekhour")  # and its filters
# rule -> its shapes; a rule with none is only walked with hostile path values. "/logout" is
# left out: it would end the walk's sessions (it reads no parameter).
ROUTES: dict[str, tuple[Shape, ...]] = {
    "/static/<path:filename>": (get(),),
    "/login": (get("next"), post("username", "password", query=("next",), username="nobody", password="x")),
    "/logout": (),
    "/": (get(*LIST, *ORDER, *FILTERS),),
    "/dashboard": (get("from", "to", "number"),),
    "/calls/<int:call_id>/transcript/edit": (post("action", "turn", "word", "text", "speaker", action="word",
                                                  turn="0", word="0", text="morning"),),
    "/calls/<int:call_id>": (get(),),
    "/calls/<int:call_id>/audio": (get("play", headers=("Range",)),),
    "/calls/<int:call_id>/conversation": (get(),),
    "/calls/<int:call_id>/export/<fmt>": (get(),),
    "/calls/<int:call_id>/speakers/<int:index>": (post("label", "all_calls", label="Mrs Weber"),),
    "/calls/<int:call_id>/delete": (get(), post()),
    "/calls/<int:call_id>/hold": (post("hold", hold="0"),),
    "/search": (get(*LIST, "q", "role", q="clinic"),),
    "/jobs": (get(),),
    "/jobs/<int:job_id>/retry": (post(),),
    "/admin/users": (get(), post("username", "role", "scope", "may_edit", "locale", username="fuzz-user",
                                 role="agent", scope="extension:201", locale="en")),
    "/admin/users/<int:user_id>": (post("action", action="enable"),
                                   post("role", "scope", "may_edit", action="access", role="agent",
                                        scope="extension:201", may_edit="on")),
    "/admin/users/<int:user_id>/delete": (get(), post()),
    "/admin/contacts": (get(), post("number", "name", number="+4930999", name="Fuzz")),
    "/admin/contacts/upload": (post(),),
    "/admin/contacts/phones": (post(),),
    "/admin/contacts/delete": (post("digits", digits="4930999"),),
    "/admin/audit": (get("page", "user", "action", "from", "to", "call", user="fuzz-nobody"),),
    "/admin/audit/export.<fmt>": (get("user", "action", "from", "to", "call", user="fuzz-nobody"),),
    "/worker/jobs/<int:job_id>/failure": (),
    "/worker/jobs/<int:job_id>/files/<int:index>": (),
    "/worker/jobs/<int:job_id>/progress": (),
    "/worker/jobs/<int:job_id>/result": (),
    "/admin/selftest": (get(),),  # POST starts a self-test: walked once below
    "/admin/status": (get(),),
    "/admin/retention": (get(), post("policy_id", action="delete", policy_id="999999"),
                         post("action", "name", "direction", "number", "mailbox", "audio_days", "transcript_days",
                              name="fuzz", number="+4999*", audio_days="3650")),
    "/admin/erasure": (get("number", "words", number="+4900000000"),
                       post("number", "words", "confirm", "call", number="+4900000000", confirm="no")),
    "/admin/webhooks": (get(), post("id", "url", "secret", "fields", "name", "enabled", "name_source",
                                    url="http://192.168.77.10/hook", name="fuzz", fields="caller")),
    "/admin/webhooks/<int:webhook_id>/test": (post(),),
    "/admin/webhooks/<int:webhook_id>/delete": (post(),),
    "/account": (get(), post("action", action="locale", locale="en"), post("locale", action="locale"),
                 post("timezone", action="timezone"),
                 post("name", "days", action="token", name="fuzz", days="30"),
                 post("token_id", action="revoke", token_id="999999")),
    "/api/calls": (get(*LIST, *ORDER, *FILTERS, headers=("Authorization",)),),
    "/api/calls/<int:call_id>": (get(headers=("Authorization",)),),
    "/api/calls/<int:call_id>/vcon": (get("inline", headers=("Authorization",)),),
    "/api/search": (get(*LIST, "q", "role", q="clinic", headers=("Authorization",)),),
    "/events": (get("since", headers=("Last-Event-ID",)),),
    "/healthz": (get(),),
    # The current password is never the right one (the walk's sessions must live on).
    "/account/password": (get(), post("current", "new", "repeat", current="not-the-password",
                                      new="a-new-password-1", repeat="a-new-password-1")),
    "/calls/export.<fmt>": (get("from", "to", "number", *ORDER, *FILTERS),),
    # A PBX's upload (no login: its token); walked by intake_requests.
    "/intake/recordings/<file_name>": (Shape("PUT", ("uniqueid", "caller", "callee"),
                                             headers=("Authorization", "X-Content-SHA256")),),
    "/admin/phrases": (get(), post("phrase", "notify", "mail_to", "mail_language", phrase="fuzz-phrase",
                                   mail_to="team@praxis.example", mail_language="de")),
    "/admin/phrases/<int:rule_id>/mail": (post("mail_to", "mail_language", mail_to="team@praxis.example",
                                               mail_language="de"),),
    "/admin/phrases/<int:rule_id>/delete": (post(),),
    "/admin/scorecard": (get(), post("text", "kind", "weight", "phrase", "phrase_party", "phrase_meets",
                                     text="Greets by name", kind="yesno", weight="1")),
    "/admin/scorecard/<int:criterion_id>/delete": (post(),),
    # A review's answers are fields c<criterion id>: c1 stands for them all.
    "/calls/<int:call_id>/review": (post("c1", "note", c1="1", note="fine"),),
    "/calls/<int:call_id>/comments": (post("at", "text", at="1:05", text="listen here"),),
    "/calls/<int:call_id>/comments/<int:comment_id>/delete": (post(),),
    "/filters": (post("name", "query", name="fuzz", query="kind=call"),),
    "/filters/<int:filter_id>/delete": (post("query", query="kind=call"),),
    "/calls/bulk/export": (post("id", id="999999"),),
    "/calls/bulk/hold": (post("id", "back", id="999999", back="kind=call"),),
    "/calls/bulk/delete": (post("id", "confirm", "back", id="999999", back="kind=call"),),
    "/live/<int:live_id>": (get(),),
    "/live/in-progress": (get(),),
    "/live/<int:live_id>/events": (get("after", headers=("Last-Event-ID",)),),
}
WORKER_BODIES = {"failure", "progress", "result"}  # the worker routes that read a JSON body
# The sane value of each path part; a route that would destroy the walk's world gets one that
# exists nowhere (its hostile values are still walked).
MISSING = "999999"
PATH_SANE = {"filename": "app.css", "index": "0", "job_id": "1", "webhook_id": MISSING, "rule_id": MISSING,
             "criterion_id": MISSING, "comment_id": MISSING, "filter_id": MISSING}
PATH_MISSING = ("/calls/<int:call_id>/delete", "/admin/users/<int:user_id>/delete")
_PART = re.compile(r"<(?:(\w+):)?(\w+)>")


@dataclass
class Answer:
    status: int
    content_type: str
    body: bytes


class Connection:
    """One keep-alive HTTP connection of one user (their cookies), reopened when the server
    closes it. An event stream's head is read and its connection dropped."""

    def __init__(self, host: str, port: int, cookies: dict[str, str]):
        self.host, self.port = host, port
        self.cookie = "; ".join(f"{k}={v}" for k, v in cookies.items())
        self.http: http.client.HTTPConnection | None = None

    def send(self, method: str, path: str, body: bytes | None, headers: dict) -> Answer:
        for attempt in (1, 2):
            if self.http is None:
                self.http = http.client.HTTPConnection(self.host, self.port, timeout=30)
            try:
                self.http.request(method, path, body=body, headers={"Cookie": self.cookie, **headers})
                response = self.http.getresponse()
                kind = response.headers.get("Content-Type", "")
                if kind.startswith("text/event-stream"):
                    self.close()
                    return Answer(response.status, kind, b"")
                answer = Answer(response.status, kind, response.read())
                if response.will_close:
                    self.close()
                return answer
            except (http.client.RemoteDisconnected, ConnectionError):
                self.close()  # the server ended a kept-alive connection: once more on a new one
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def close(self) -> None:
        if self.http is not None:
            self.http.close()
            self.http = None


@dataclass(frozen=True)
class Request:
    user: str
    method: str
    path: str
    body: bytes | None = None
    headers: tuple[tuple[str, str], ...] = ()
    what: str = ""  # which parameter carried which value, for the report


def _path(rule: str, values: dict[str, str]) -> str:
    return _PART.sub(lambda part: values[part[2]], rule)


def _header_value(value: str | bytes) -> str:
    # Header values travel as latin-1 and without CR/LF (http.client refuses those itself).
    text = value.decode("latin-1") if isinstance(value, bytes) else value
    return text.replace("\r", "").replace("\n", "").encode("utf-8").decode("latin-1")[:8000]


FORM = (("Content-Type", "application/x-www-form-urlencoded"),)


def _request(user: str, shape: Shape, path: str, values: dict, csrf: str, headers: dict, what: str) -> Request:
    if shape.method == "GET":
        query = urllib.parse.urlencode(values)
        return Request(user, "GET", f"{path}?{query}" if query else path, None, tuple(headers.items()), what)
    query = urllib.parse.urlencode({k: v for k, v in values.items() if k in shape.query})
    body = urllib.parse.urlencode({**{k: v for k, v in values.items() if k not in shape.query},
                                   "csrf_token": csrf}).encode()
    return Request(user, "POST", f"{path}?{query}" if query else path, body, (*FORM, *headers.items()), what)


def sane_requests(rule: str, shapes: tuple[Shape, ...], user: str, csrf: str, parts: dict) -> list[Request]:
    """Each shape of the route once, with sane values only."""
    path = _path(rule, parts)
    return [_request(user, shape, path, shape.sane, csrf, {}, "sane") for shape in shapes or (get(),)]


def requests_for(rule: str, shapes: tuple[Shape, ...], user: str, csrf: str, parts: dict) -> list[Request]:
    """The route with hostile values in each path part, each field and header it reads (a GET's
    query arguments also all at once), JSON where a form is expected, a method it lacks."""
    shapes = shapes or (get(),)
    found = []
    for converter, name in _PART.findall(rule):
        # An id gets the sharp values; a string or path its kind's, a "/" in one also unencoded.
        for value in PATH_ID if converter == "int" else values_for(name):
            for safe in ("", "/") if "/" in str(value) else ("",):
                hostile = _path(rule, {**parts, name: urllib.parse.quote(value, safe=safe)})
                found += [_request(user, shape, hostile, shape.sane, csrf, {}, f"path {name}={value!r}")
                          for shape in {shape.method: shape for shape in shapes}.values()]
    path = _path(rule, parts)
    for shape in shapes:
        for name in shape.fuzz:
            for value in values_for(name):
                found.append(_request(user, shape, path, {**shape.sane, name: value}, csrf, {}, f"{name}={value!r}"))
        if shape.method == "GET" and len(shape.fuzz) > 1:
            for value in EVERY:
                found.append(_request(user, shape, path, {name: value for name in shape.fuzz}, csrf, {},
                                      f"every argument={value!r}"))
        for name in shape.headers:
            for value in values_for(name):
                found.append(_request(user, shape, path, shape.sane, csrf, {name: _header_value(value)},
                                      f"header {name}={value!r}"))
    for method in {shape.method for shape in shapes} - {"GET"}:
        for body in JSON_BODIES[:6]:
            found.append(Request(user, method, path, body, (("Content-Type", "application/json"),),
                                 f"json {body[:20]!r}"))
    found.append(Request(user, "PUT", path, b"{}", (("Content-Type", "application/json"),), "PUT"))
    return distinct(found)


def distinct(found: list[Request]) -> list[Request]:
    """Each request once (a value can reach a parameter by two of the ways above)."""
    return list({(r.user, r.method, r.path, r.body, r.headers): r for r in found}.values())


def intake_requests(rule: str, token: str) -> list[Request]:
    """A PBX's upload with its real token and hostile file names, query arguments and headers,
    and with hostile tokens."""
    body = b"RIFF" + b"\0" * 60
    sane = {"Authorization": f"Bearer {token}", "X-Content-SHA256": hashlib.sha256(body).hexdigest(),
            "Content-Type": "application/octet-stream"}
    shape = ROUTES[rule][0]

    def put(name: str | bytes, query: dict, headers: dict, what: str) -> Request:
        path = _path(rule, {"file_name": urllib.parse.quote(name, safe="")})
        return Request("nobody", "PUT", f"{path}?{urllib.parse.urlencode(query)}" if query else path, body,
                       tuple({**sane, **headers}.items()), what)

    found = [put(value, {}, {}, f"file name {value!r}") for value in ("fuzz.wav", *values_for("file_name"))]
    found += [put("fuzz.wav", {name: value}, {}, f"{name}={value!r}") for name in shape.fuzz for value in values_for(name)]
    found += [put("fuzz.wav", {}, {name: _header_value(value)}, f"header {name}={value!r}")
              for name in shape.headers for value in values_for(name)]
    return distinct(found)


def worker_requests(rule: str, token: str) -> list[Request]:
    """The remote workers' endpoint with a token signed for job 1 (its JSON bodies are reached
    only with one) and with hostile tokens."""
    path = _path(rule, {"job_id": "1", "index": "0"})
    method = "POST" if rule.rsplit("/", 1)[-1] in WORKER_BODIES else "GET"
    found = [Request("nobody", method, path, body,
                     (("Content-Type", "application/json"), ("Authorization", f"Bearer {token}")),
                     f"json {body[:20]!r}") for body in (JSON_BODIES if method == "POST" else (b"",))]
    for value in EVERY + TEXT:
        found.append(Request("nobody", method, path, b"{}", (("Authorization", "Bearer " + _header_value(value)),),
                             f"token {value!r}"))
    return found


@pytest.fixture(scope="module")
def world(served):
    """The app's rules, the users' cookies and CSRF tokens, a user and a live call to aim at."""
    settings = load_settings(Path("/dev/null"), environ={}, data_dir=served.data_dir,
                             models_dir=served.data_dir.parent / "models")
    rules = sorted({rule.rule for rule in create_app(settings=settings).url_map.iter_rules()})
    with served.store() as store:
        target = store.users.add("fuzz-target", "x", "viewer")
        live = store.live.start("fuzz-live", caller="201", callee="+4930111", direction="inbound")
        pbx_token, token_hash = new_token()
        store.pbx.add("fuzz-pbx", token_hash)
    browsers = {name: served.login(name) for name in ("admin", "agent")}
    parts = {**PATH_SANE, "call_id": str(served.own_call), "live_id": str(live), "user_id": str(target.id)}
    return {"rules": rules, "browsers": browsers, "parts": parts,
            "token": sign(worker_secret(served.data_dir), 1, REMOTE_PREFIX + "fuzz"), "pbx_token": pbx_token}


def parts_of(world, rule: str) -> dict:
    """The sane value of each path part of `rule`."""
    parts = {**world["parts"], "fmt": "txt" if "/export/" in rule else "csv"}
    return {name: MISSING for name in parts} if rule in PATH_MISSING else parts


def walked(world) -> list[str]:
    return [rule for rule in world["rules"] if rule != "/logout" and not rule.startswith((WORKER_PATH, INTAKE_PATH))]


def send_all(served, world, walk: list[Request]) -> list[tuple[Request, Answer]]:
    """Every request, on four threads, each with one kept-alive connection per user."""
    cookies = {"nobody": {}, **{user: browser.cookies for user, browser in world["browsers"].items()}}
    local, opened = threading.local(), []

    def send(request: Request) -> tuple[Request, Answer]:
        if not hasattr(local, "connections"):
            local.connections = {user: Connection(served.host, served.port, jar) for user, jar in cookies.items()}
            opened.extend(local.connections.values())
        return request, local.connections[request.user].send(request.method, request.path, request.body,
                                                              dict(request.headers))

    try:
        with ThreadPoolExecutor(4) as pool:
            return list(pool.map(send, walk))
    finally:
        for connection in opened:
            connection.close()


JSON_TYPES = ("application/json", "application/vcon")  # a vCon is a JSON document


def wrong_answers(answers: list[tuple[Request, Answer]]) -> list[str]:
    failures = []
    for request, answer in answers:
        wrong = []
        if answer.status >= 500 and not (request.path == "/healthz" and answer.status == 503):  # no worker here
            wrong.append(f"status {answer.status}")
        if b"Traceback" in answer.body or b'File "/' in answer.body:
            wrong.append("a traceback")
        # A request that is not HTTP (a NUL in a header) is refused by the server's parser in
        # plain text before any path is looked at; everything that reaches /api answers JSON.
        not_http = answer.status == 400 and answer.body.startswith(b"Invalid HTTP request")
        if request.path.startswith("/api/") and not not_http and not answer.content_type.startswith(JSON_TYPES):
            wrong.append(f"{answer.content_type or 'no content type'} on the API")
        if wrong:
            failures.append(f"{request.user} {request.method} {request.path[:100]} ({request.what[:60]}): {', '.join(wrong)}")
    return failures


def test_the_fuzz_knows_every_route(world):
    unknown = [rule for rule in world["rules"] if rule not in ROUTES]
    assert not unknown, f"add these routes to ROUTES with the parameters they read: {unknown}"


def test_the_fuzz_knows_every_parameter_the_views_read():
    read = set()
    for source in WEB.glob("*.py"):
        text = source.read_text()
        read |= set(re.findall(r'(?:args|form|source)\.get(?:list)?\(\s*"([\w-]+)"', text))
        read |= set(re.findall(r'request\.(?:args|form)\["([\w-]+)"\]', text))
        read |= set(re.findall(r'(?:form_int|_days|_number|choice|text)\("([\w-]+)"', text))
        read |= set(re.findall(r'request\.headers\.get\("([\w-]+)"', text))
    fuzzed = {name for shapes in ROUTES.values() for shape in shapes for name in (*shape.fuzz, *shape.headers)}
    assert read and not read - fuzzed, f"fuzz these parameters on the routes that read them: {read - fuzzed}"


def test_no_hostile_value_anywhere_gets_a_500_or_a_traceback(served, world):
    browsers = world["browsers"]
    # Sane first: a route the agent is refused (403) is walked as the admin only.
    probes = [(user, rule, request) for user, browser in browsers.items() for rule in walked(world)
              for request in sane_requests(rule, ROUTES[rule], user, browser.csrf, parts_of(world, rule))]
    answers = send_all(served, world, [request for _, _, request in probes])
    refused = {(user, rule) for (user, rule, _), (_, answer) in zip(probes, answers) if answer.status == 403}
    walk = [request for user, browser in browsers.items() for rule in walked(world) if (user, rule) not in refused
            for request in requests_for(rule, ROUTES[rule], user, browser.csrf, parts_of(world, rule))]
    walk += [request for rule in world["rules"] if rule.startswith(WORKER_PATH)
             for request in worker_requests(rule, world["token"])]
    walk += [request for rule in world["rules"] if rule.startswith(INTAKE_PATH)
             for request in intake_requests(rule, world["pbx_token"])]
    walk.append(Request("admin", "POST", "/admin/selftest",
                        urllib.parse.urlencode({"csrf_token": browsers["admin"].csrf}).encode(), FORM, "self-test"))
    failures = wrong_answers(answers + send_all(served, world, walk))
    assert not failures, f"{len(failures)} of {len(walk)} answers were wrong:\n" + "\n".join(failures[:60])
    assert {rule for user, rule in refused if user == "agent"} >= {"/admin/users", "/jobs"}
    assert served.alive()
    log = served.log.read_text(errors="replace")
    assert "Traceback" not in log, log[-4000:]
    # The walk ran as the real users: they are still logged in.
    for browser in browsers.values():
        assert browser.get("/").status == 200
