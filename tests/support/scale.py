"""A site of one box and remote workers on one machine: network namespaces joined by veth
links, a real RabbitMQ in the box's, real `appliance` processes in each
(tests/test_scale_out.py, bench/scale.py).

The box namespace has the box's address on its loopback (BOX_ADDRESS); each worker namespace
has one veth link to the box and no other route. A worker namespace made with reach_box=False
has no route to the box's address: it reaches the broker (on its link's far end) but never
the box's web endpoint, so no audio.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from support.processes import APPLIANCE

RABBITMQ_SERVER = Path("/usr/lib/rabbitmq/bin/rabbitmq-server")
EPMD = next(Path("/usr/lib/erlang").glob("erts-*/bin/epmd"), None) if Path("/usr/lib/erlang").is_dir() else None
BOX_ADDRESS = "10.231.0.1"
BROKER_PORT = 5672
WEB_PORT = 8080


def missing() -> str | None:
    """Why this machine cannot run a site, or None."""
    if RABBITMQ_SERVER is None or not RABBITMQ_SERVER.exists() or EPMD is None:
        return "rabbitmq-server is not installed (bin/install --test installs it)"
    if os.geteuid() != 0 or shutil.which("ip") is None:
        return "network namespaces need root and iproute2"
    return None


def _run(*args: str) -> None:
    subprocess.run(args, check=True, capture_output=True, text=True)


def _running_in(group: int) -> bool:
    """Whether a process of this process group is still running (zombies do not count)."""
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rpartition(")")[2].split()
        except OSError:
            continue
        if int(fields[2]) == group and fields[0] != "Z":
            return True
    return False


def wait_until(condition, what: str, timeout: float, every: float = 0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


@dataclass
class Site:
    root: Path
    models_dir: Path
    workers: int = 2
    # Worker namespaces with a route to the broker only.
    cut_off: int = 0
    tag: str = field(default_factory=lambda: f"s{os.getpid() % 100000}")
    password: str = field(default_factory=lambda: secrets.token_urlsafe(18))
    processes: dict = field(default_factory=dict)

    # --- namespaces ----------------------------------------------------------------------

    @property
    def box(self) -> str:
        return f"{self.tag}box"

    def worker_ns(self, index: int) -> str:
        return f"{self.tag}w{index}"

    def link_address(self, index: int, end: int) -> str:
        return f"10.231.{index}.{end}"

    def __enter__(self) -> "Site":
        try:
            _run("ip", "netns", "add", self.box)
            _run("ip", "-n", self.box, "link", "set", "lo", "up")
            _run("ip", "-n", self.box, "addr", "add", f"{BOX_ADDRESS}/32", "dev", "lo")
            for index in range(1, self.workers + self.cut_off + 1):
                self._add_worker_ns(index, reach_box=index <= self.workers)
        except BaseException:
            self.close()
            raise
        return self

    def _add_worker_ns(self, index: int, reach_box: bool) -> None:
        ns, near, far = self.worker_ns(index), f"{self.tag}b{index}", f"{self.tag}v{index}"
        _run("ip", "netns", "add", ns)
        _run("ip", "link", "add", near, "type", "veth", "peer", "name", far)
        _run("ip", "link", "set", near, "netns", self.box)
        _run("ip", "link", "set", far, "netns", ns)
        _run("ip", "-n", self.box, "addr", "add", f"{self.link_address(index, 1)}/24", "dev", near)
        _run("ip", "-n", self.box, "link", "set", near, "up")
        _run("ip", "-n", ns, "addr", "add", f"{self.link_address(index, 2)}/24", "dev", far)
        _run("ip", "-n", ns, "link", "set", far, "up")
        _run("ip", "-n", ns, "link", "set", "lo", "up")
        if reach_box:
            _run("ip", "-n", ns, "route", "add", f"{BOX_ADDRESS}/32", "via", self.link_address(index, 1))

    def close(self) -> None:
        for name in list(self.processes):
            self.kill(name)
        for ns in [self.box] + [self.worker_ns(i) for i in range(1, self.workers + self.cut_off + 1)]:
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)

    def __exit__(self, *exc) -> None:
        self.close()

    # --- processes -----------------------------------------------------------------------

    def start(self, name: str, ns: str, argv: list[str], env: dict | None = None) -> subprocess.Popen:
        log = (self.root / f"{name}.log").open("ab")
        process = subprocess.Popen(["ip", "netns", "exec", ns, *argv], stdout=log, stderr=subprocess.STDOUT,
                                   env={**os.environ, **(env or {})}, start_new_session=True)
        log.close()
        self.processes[name] = process
        return process

    def kill(self, name: str, signum: int = signal.SIGKILL) -> None:
        """Signal the process's whole session (rabbitmq-server is a script whose Erlang VM is
        its child) and wait until all of it has exited; SIGKILL what is left after 30 s."""
        process = self.processes.pop(name, None)
        if process is None:
            return
        group = process.pid
        with contextlib.suppress(ProcessLookupError):
            os.killpg(group, signum)
        deadline = time.monotonic() + 30
        while _running_in(group) and time.monotonic() < deadline:
            process.poll()
            time.sleep(0.1)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(group, signal.SIGKILL)
        process.wait()

    def log(self, name: str) -> str:
        path = self.root / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    # --- the broker ----------------------------------------------------------------------

    def broker_url(self, host: str = "127.0.0.1") -> str:
        return f"amqp://appliance:{self.password}@{host}:{BROKER_PORT}//"

    def start_broker(self, wait: bool = True) -> None:
        """RabbitMQ in the box's namespace, its state under root/rabbitmq (kept across restarts).
        wait=False: return once it is started, so that the box and the workers start while it
        boots (they connect when it listens, as after a power cut)."""
        base = self.root / "rabbitmq"
        base.mkdir(exist_ok=True)
        # A user of its own with a password made for this site; guest stays on loopback.
        (base / "rabbitmq.conf").write_text(
            f"listeners.tcp.default = {BROKER_PORT}\n"
            f"default_user = appliance\ndefault_pass = {self.password}\n"
            # Long transcriptions: a ticket stays unacknowledged while its job runs.
            "consumer_timeout = 14400000\n"
            "disk_free_limit.absolute = 50MB\n"
        )
        (base / "enabled_plugins").write_text("[].\n")
        env = {
            "HOME": str(base), "RABBITMQ_NODENAME": "appliance@localhost",
            "RABBITMQ_CONFIG_FILE": str(base / "rabbitmq.conf"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(base / "enabled_plugins"),
            "RABBITMQ_MNESIA_BASE": str(base / "mnesia"), "RABBITMQ_LOG_BASE": str(base / "log"),
            "RABBITMQ_FEATURE_FLAGS_FILE": str(base / "feature_flags"),
            "RABBITMQ_PLUGINS_EXPAND_DIR": str(base / "plugins-expand"),
        }
        if "epmd" not in self.processes:
            # Erlang's port mapper, started here so that it ends with the site.
            self.start("epmd", self.box, [str(EPMD)])
        self.start("rabbitmq", self.box, [str(RABBITMQ_SERVER)], env)
        if wait:
            wait_until(lambda: self.reachable("127.0.0.1", BROKER_PORT), "RabbitMQ to listen", 120)

    def stop_broker(self) -> None:
        """A clean stop (SIGTERM), as a service restart does."""
        self.kill("rabbitmq", signal.SIGTERM)

    def reachable(self, host: str, port: int, ns: str | None = None) -> bool:
        probe = f"exec 3<>/dev/tcp/{host}/{port}"
        return subprocess.run(["ip", "netns", "exec", ns or self.box, "timeout", "2", "bash", "-c", probe],
                              capture_output=True).returncode == 0

    # --- the appliance -------------------------------------------------------------------

    def env(self, **settings) -> dict:
        values = {"config": "/dev/null", "models_dir": str(self.models_dir), **settings}
        return {f"APPLIANCE_{key.upper()}": str(value) for key, value in values.items()}

    def box_env(self, **settings) -> dict:
        return self.env(data_dir=self.root / "box", broker_url=self.broker_url(), **settings)

    def start_box(self, **settings) -> None:
        env = self.box_env(**settings)
        self.start("serve", self.box, [str(APPLIANCE), "-v", "serve", "--host", BOX_ADDRESS,
                                       "--port", str(WEB_PORT)], env)
        self.start("dispatcher", self.box, [str(APPLIANCE), "-v", "worker"], env)
        wait_until(lambda: self.reachable(BOX_ADDRESS, WEB_PORT), "the box's web server", 120)

    def start_worker(self, index: int, name: str | None = None, **settings) -> subprocess.Popen:
        """`appliance worker --remote` in worker namespace `index`, one thread."""
        broker = self.broker_url(BOX_ADDRESS if index <= self.workers else self.link_address(index, 1))
        env = self.env(cpu_threads=1, speaker_source="channels", **settings)
        return self.start(name or f"worker{index}", self.worker_ns(index),
                          [str(APPLIANCE), "-v", "worker", "--remote", "--broker", broker,
                           "--box", f"http://{BOX_ADDRESS}:{WEB_PORT}"], env)


def short_prompts(count: int, low: float = 3.0, high: float = 5.0) -> list[Path]:
    """Asterisk's English prompts of low to high seconds (8 kHz 16-bit mono WAV), by name."""
    import soundfile

    found = []
    for path in sorted(Path("/usr/share/asterisk/sounds/en").glob("*.wav")):
        if low <= soundfile.info(str(path)).duration <= high:
            found.append(path)
            if len(found) == count:
                return found
    raise AssertionError(f"only {len(found)} prompts of {low}-{high} s in asterisk-core-sounds-en-wav")

