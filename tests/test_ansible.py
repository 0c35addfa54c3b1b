"""The Ansible playbook turns a fresh Debian root into the appliance, twice without change.

The root is a debootstrap minbase of Debian forky (bin/ansible-test-root says why not trixie)
reached through the `community.general.chroot` connection: this machine has no systemd, so no
container can boot; services are not started there, and the units are proven with
`systemd-analyze verify` instead. The appliance and its models install from a wheel folder
built on the host (bin/appliance-wheelhouse), as on a box without internet, and the second run
happens in a network namespace with nothing but loopback: it must need no network at all.
Asterisk and nftables are then run for real inside the root, each in a namespace of its own.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import textwrap
from pathlib import Path

import pytest

from support.processes import unavailable

REPO = Path(__file__).resolve().parent.parent
ANSIBLE_DIR = REPO / "ansible"
BIN = Path(sys.executable).parent
CACHE = Path(os.environ.get("APPLIANCE_TEST_CACHE", "/var/cache/appliance-test"))
# forky's python3; the wheel folder must be built for the Python the root will have.
ROOT_PYTHON = "3.14"
# A real model small enough to stand for an admin's archive (found without importing the library).
SILERO = (Path(*importlib.util.find_spec("faster_whisper").submodule_search_locations)
          / "assets" / "silero_vad_v6.onnx")
UNITS = ["appliance-web.service", "appliance-worker.service", "appliance-live.service", "appliance-ivr.service"]

# What the inventory sets; the tests check the box got exactly this.
SITE = {
    "appliance_sip_media_address": "192.0.2.10",
    "appliance_web_port": 8080,
    "appliance_language": "de",
    "appliance_phones": {"100": "Reception", "101": "Office", "102": "Warehouse"},
    "mail_relay_host": "192.0.2.25",
    "mail_relay_port": 25,
    "firewall_lan_networks": ["192.0.2.0/24", "fd00:1::/64"],
    "firewall_webhook_hosts": [{"address": "192.0.2.40", "port": 8443}],
}
WEBHOOK, RELAY, INTERNET = "192.0.2.40:8443", "192.0.2.25:25", "198.51.100.7:443"


def run(*command, check=True, **kwargs) -> subprocess.CompletedProcess:
    result = subprocess.run([str(c) for c in command], capture_output=True, text=True, **kwargs)
    if check and result.returncode != 0:
        pytest.fail(f"{' '.join(map(str, command))} failed ({result.returncode}):\n"
                    f"{result.stdout[-4000:]}\n{result.stderr[-4000:]}")
    return result


def ansible_env() -> dict:
    # The box has its own pip settings; this machine's (PIP_FIND_LINKS, ...) must not leak in.
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIP_")}
    env.update(PATH=f"{BIN}:{env['PATH']}", ANSIBLE_FORCE_COLOR="0", ANSIBLE_NOCOLOR="1")
    return env


def tool(name: str) -> Path:
    path = BIN / name
    if not path.exists():
        unavailable(f"{name} is not installed in the virtual environment (bin/install --test)")
    return path


def test_ansible_lint_passes_with_the_production_profile():
    result = run(tool("ansible-lint"), "--offline", "--profile", "production", "--nocolor",
                 cwd=ANSIBLE_DIR, env=ansible_env(), check=False)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    assert "Profile 'production' was required, and it passed" in result.stderr + result.stdout


def test_playbook_syntax_check_passes():
    result = run(tool("ansible-playbook"), "--syntax-check", "-i", "inventory/hosts.example.yml",
                 "site.yml", cwd=ANSIBLE_DIR, env=ansible_env(), check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_broker_role_listens_where_it_should_and_the_firewall_opens_only_its_port(tmp_path):
    """The broker role (off in the playbook run below) as Ansible renders it, without a box:
    plain AMQP, or with a certificate AMQP over TLS and plain AMQP on loopback only; the
    firewall opens that one port to the workers' networks."""
    template = ANSIBLE_DIR / "roles" / "broker" / "templates" / "rabbitmq.conf.j2"
    ports = "{{ firewall_broker_networks | join(',') }} {{ firewall_broker_port }}"
    tls = {"broker_tls_certfile": "callbox.crt", "broker_tls_keyfile": "callbox.key"}
    tasks = [{"name": f"Render {name}", "vars": extra, "ansible.builtin.copy": {
        "content": "{{ lookup('ansible.builtin.template', '%s') }}\n%s\n" % (template, ports),
        "dest": str(tmp_path / f"{name}.conf"), "mode": "0600"}}
        for name, extra in (("plain", {}), ("tls", tls))]
    (tmp_path / "broker.yml").write_text(json.dumps([{
        "name": "Render the broker's settings", "hosts": "localhost", "connection": "local", "gather_facts": False,
        "vars": {"appliance_broker": True, "broker_worker_networks": ["192.0.2.0/24"],
                 "ansible_python_interpreter": sys.executable},
        "roles": [{"role": "broker", "when": False}, {"role": "firewall", "when": False}],
        "tasks": tasks}]))
    run(tool("ansible-playbook"), "-i", "localhost,", "broker.yml", cwd=tmp_path,
        env={**ansible_env(), "ANSIBLE_ROLES_PATH": str(ANSIBLE_DIR / "roles")})

    plain = (tmp_path / "plain.conf").read_text().splitlines()
    assert "listeners.tcp.default = 5672" in plain and not [line for line in plain if "ssl" in line]
    assert plain[-1] == "192.0.2.0/24 5672"
    secure = (tmp_path / "tls.conf").read_text().splitlines()
    assert "listeners.tcp.local = 127.0.0.1:5672" in secure and "listeners.ssl.default = 5671" in secure
    assert not [line for line in secure if line.startswith("listeners.tcp.default")]
    assert secure[-1] == "192.0.2.0/24 5671"


def recap(output: str) -> dict[str, int]:
    line = re.search(r"^\S+\s*: (ok=.*)$", output.split("PLAY RECAP", 1)[-1], re.M)
    assert line, output[-3000:]
    return {key: int(value) for key, value in re.findall(r"(\w+)=(\d+)", line.group(1))}


class Box:
    """The deployed root and what the two playbook runs reported."""

    def __init__(self, root: Path):
        self.root = root
        self.runs: list[str] = []
        self.secrets_after_first_run = ""

    def chroot(self, *command, check=True, user=None, **kwargs):
        prefix = ["chroot", self.root] + (["runuser", "-u", user, "--"] if user else [])
        return run(*prefix, *command, check=check, **kwargs)

    def file(self, path: str) -> Path:
        return self.root / path.lstrip("/")


def _playbook(inventory: Path, *, offline: bool) -> str:
    command = [tool("ansible-playbook"), "-i", inventory, "site.yml"]
    if offline:
        command = ["unshare", "--net", *command]
    result = run(*command, cwd=ANSIBLE_DIR, env=ansible_env(), check=False, timeout=900)
    output = result.stdout + result.stderr
    assert result.returncode == 0, f"playbook failed ({'offline' if offline else 'first'} run):\n{output[-6000:]}"
    return output


@pytest.fixture(scope="module")
def box(tmp_path_factory):
    if os.geteuid() != 0:
        unavailable("the Ansible test builds a root with debootstrap and chroot: run it as root")
    for command in ("debootstrap", "unshare", "chroot", "ip", "mount"):
        if not shutil.which(command):
            unavailable(f"{command} is not installed (bin/install --test)")
    tarball = CACHE / "forky-minbase.tar"
    wheels = CACHE / f"wheelhouse-cp{ROOT_PYTHON.replace('.', '')}"
    run(REPO / "bin" / "ansible-test-root", tarball, timeout=900)
    run(REPO / "bin" / "appliance-wheelhouse", wheels, ROOT_PYTHON, timeout=900)

    work = tmp_path_factory.mktemp("ansible")
    root = work / "root"
    root.mkdir()
    run("tar", "-C", root, "-xf", tarball)
    # One archive of the source for both runs: the test compares runs, not checkouts.
    source = work / "source.tar.gz"
    with tarfile.open(source, "w:gz") as archive:
        for name in ("pyproject.toml", "README.md", "appliance", "asterisk-config", "models"):
            archive.add(REPO / name, name,
                        filter=lambda info: None if "__pycache__" in info.name or info.name.endswith(".pyc") else info)
    # An admin-provided model archive, as a site brings a larger Whisper or a Vosk model: here
    # the small Silero VAD model faster-whisper ships.
    with tarfile.open(work / "silero-vad.tar.gz", "w:gz") as archive:
        archive.add(SILERO, f"silero-vad/{SILERO.name}")
    shutil.copy("/etc/resolv.conf", root / "etc" / "resolv.conf")
    # Downloaded .debs are kept between test runs (first run only; the second needs none).
    apt_cache = CACHE / "apt-archives"
    (apt_cache / "partial").mkdir(parents=True, exist_ok=True)
    mounts = [root / "var/cache/apt/archives", root / "proc"]
    run("mount", "--bind", apt_cache, mounts[0])
    run("mount", "-t", "proc", "proc", mounts[1])
    try:
        host = {"ansible_connection": "community.general.chroot"}
        inventory = work / "inventory.yml"
        inventory.write_text(json.dumps({"appliance": {"hosts": {str(root): host}, "vars": {
            "appliance_source_archive": str(source),
            "appliance_wheelhouse": str(wheels),
            "appliance_wheelhouse_packed": str(work / "wheels.tar"),
            "models_install": [{"name": "whisper-base"},
                               {"name": "speaker-encoder", "packages": ["resemblyzer==0.1.4"], "no_deps": True},
                               {"name": "silero-vad", "archive": str(work / "silero-vad.tar.gz")}],
            # No systemd in a chroot: the units are written, not started.
            **{f"{role}_manage_services": False for role in ("appliance", "asterisk", "mail", "firewall")},
            **SITE,
        }}}))
        deployed = Box(root)
        deployed.runs.append(_playbook(inventory, offline=False))
        deployed.secrets_after_first_run = deployed.file("/var/lib/appliance/asterisk-secrets.json").read_text()
        deployed.runs.append(_playbook(inventory, offline=True))
        yield deployed
    finally:
        for mount in reversed(mounts):
            subprocess.run(["umount", "--lazy", str(mount)], check=False)
        if not any(str(root) in line for line in Path("/proc/mounts").read_text().splitlines()):
            shutil.rmtree(work, ignore_errors=True)


def test_second_run_changes_nothing_and_needs_no_network(box):
    first, second = (recap(output) for output in box.runs)
    assert first["failed"] == 0 and first["changed"] > 0
    changed = re.findall(r"^changed: .*$|^TASK \[.*$", box.runs[1], re.M)
    assert second["changed"] == 0, "\n".join(changed)
    assert second["failed"] == 0 and second["unreachable"] == 0


def test_appliance_command_answers_inside_the_box(box):
    result = box.chroot("/opt/appliance/.venv/bin/appliance", "--help")
    assert "Offline call transcription for Asterisk" in result.stdout
    assert "serve" in result.stdout and "worker" in result.stdout
    version = box.chroot("/opt/appliance/.venv/bin/python", "-c", "import sys; print(sys.version)").stdout
    assert version.startswith(ROOT_PYTHON), version


def test_models_role_installed_the_embedded_and_the_archived_model_with_checksums(box):
    result = box.chroot("/opt/appliance/.venv/bin/appliance", "models", "verify", "whisper-base", "silero-vad",
                        "speaker-encoder", user="appliance")
    assert result.stdout.split("\n")[:3] == ["silero-vad: ok", "speaker-encoder: ok", "whisper-base: ok"]
    model = box.file("/var/lib/appliance/models/whisper-base/model.bin")
    assert model.stat().st_size > 100_000_000
    installed = box.file(f"/var/lib/appliance/models/silero-vad/{SILERO.name}")
    assert installed.read_bytes() == SILERO.read_bytes()


def test_settings_file_parses_with_the_site_values(box):
    script = textwrap.dedent("""
        import json
        from appliance.config import load_settings
        s = load_settings()
        print(json.dumps({"web_port": s.web_port, "language": s.language, "phones": dict(s.phones),
                          "sip_media_address": s.sip_media_address, "mail_relay": s.mail_relay,
                          "db": str(s.db_path), "manifest": str(s.models_manifest)}))
    """)
    result = box.chroot("/opt/appliance/.venv/bin/python", "-c", script, user="appliance",
                        env={"APPLIANCE_CONFIG": "/etc/appliance/appliance.toml",
                             "PATH": "/usr/sbin:/usr/bin:/sbin:/bin"})
    settings = json.loads(result.stdout)
    assert settings == {
        "web_port": SITE["appliance_web_port"], "language": "de", "phones": SITE["appliance_phones"],
        "sip_media_address": "192.0.2.10", "mail_relay": "localhost:25",
        "db": "/var/lib/appliance/appliance.db", "manifest": "/opt/appliance/models/manifest.toml",
    }
    assert box.file("/var/lib/appliance/appliance.db").stat().st_size > 0


def test_systemd_accepts_the_units(box):
    # The root's own systemd: its systemd-analyze knows the unit syntax of the target release.
    result = box.chroot("systemd-analyze", "verify", *(f"/etc/systemd/system/{unit}" for unit in UNITS), check=False)
    assert result.returncode == 0 and not (result.stdout + result.stderr).strip(), result.stdout + result.stderr
    for unit, command in zip(UNITS, ("serve", "worker", "live", "ivr serve")):
        text = box.file(f"/etc/systemd/system/{unit}").read_text()
        assert re.search(rf"^ExecStart=/opt/appliance/\.venv/bin/appliance .*\b{command}$", text, re.M)
        assert "User=appliance" in text


def test_secrets_are_generated_once_and_kept_private(box):
    secrets_file = box.file("/var/lib/appliance/asterisk-secrets.json")
    assert secrets_file.read_text() == box.secrets_after_first_run
    assert oct(secrets_file.stat().st_mode & 0o777) == "0o600"
    secrets = json.loads(secrets_file.read_text())
    assert set(secrets["phones"]) == set(SITE["appliance_phones"])
    manager = box.file("/etc/asterisk/manager.conf")
    assert f"secret = {secrets['ami_secret']}" in manager.read_text()
    assert oct(manager.stat().st_mode & 0o777) == "0o640"


def test_asterisk_loads_the_installed_config(box):
    # In a namespace of its own: its SIP, AMI and HTTP ports never meet another Asterisk's.
    script = textwrap.dedent(f"""
        ip link set lo up
        chroot {box.root} asterisk -f > /dev/null 2>&1 &
        for i in $(seq 100); do
            chroot {box.root} asterisk -rx 'core waitfullybooted' > /dev/null 2>&1 && break
            sleep 0.2
        done
        for command in 'pjsip show endpoints' 'manager show users' 'ari show users' \\
                       'dialplan show appliance-record' 'module show like app_mixmonitor'; do
            echo "== $command"
            chroot {box.root} asterisk -rx "$command"
        done
        chroot {box.root} asterisk -rx 'core stop now' > /dev/null
        wait
    """)
    output = run("unshare", "--net", "sh", "-c", script, timeout=120).stdout
    sections = dict(part.split("\n", 1) for part in output.split("== ")[1:])
    for number in SITE["appliance_phones"]:
        assert f"Endpoint:  {number}/" in sections["pjsip show endpoints"]
    assert "appliance" in sections["manager show users"]
    assert "appliance" in sections["ari show users"]
    assert "MixMonitor(" in sections["dialplan show appliance-record"]
    assert "app_mixmonitor.so" in sections["module show like app_mixmonitor"]


def test_mail_leaves_only_through_the_site_relay(box):
    settings = box.chroot("postconf", "-h", "relayhost", "inet_interfaces", "mydestination").stdout.splitlines()
    assert settings == ["[192.0.2.25]:25", "loopback-only", ""]
    assert box.chroot("postfix", "check", check=False).returncode == 0


def test_firewall_rules_parse_and_let_the_appliance_reach_only_its_webhooks(box):
    box.chroot("nft", "--check", "--file", "/etc/nftables.conf")
    probe = box.file("/tmp/probe.py")
    probe.write_text(textwrap.dedent("""
        import socket, sys
        for target in sys.argv[1:]:
            host, port = target.rsplit(":", 1)
            s = socket.socket()
            s.settimeout(1.5)  # nothing answers on the fake LAN: a SYN that left just times out
            try:
                s.connect((host, int(port)))
            except TimeoutError:
                print(target, "left")
            except OSError as exc:
                print(target, "refused", exc.errno)
    """))
    # A namespace with a fake LAN (a veth pair whose neighbours are pinned, so no ARP) and a
    # default route, where the rules are loaded for real.
    script = textwrap.dedent(f"""
        set -e
        ip link set lo up
        ip link add v0 type veth peer name v1
        ip addr add 192.0.2.1/24 dev v0
        ip link set v0 up; ip link set v1 up
        for n in 192.0.2.40 192.0.2.25 192.0.2.254; do
            ip neigh add $n lladdr 02:00:00:00:00:01 dev v0 nud permanent
        done
        ip route add default via 192.0.2.254 dev v0
        chroot {box.root} nft --file /etc/nftables.conf
        for user in appliance postfix root; do
            echo "== $user"
            chroot {box.root} runuser -u $user -- python3 /tmp/probe.py {WEBHOOK} {RELAY} {INTERNET}
        done
    """)
    output = run("unshare", "--net", "sh", "-c", script, timeout=120).stdout
    reached = {user: {line.split()[0] for line in text.splitlines() if line.endswith("left")}
               for user, text in (part.split("\n", 1) for part in output.split("== ")[1:])}
    assert reached == {
        "appliance": {WEBHOOK},  # the mail goes through the local Postfix, on loopback
        "postfix": {RELAY},
        "root": {WEBHOOK, RELAY, INTERNET},  # Asterisk and the admin are not limited
    }
    rules = box.file("/etc/nftables.conf").read_text()
    for port in ("th dport 5060", "udp dport 10000-20000", "tcp dport 8080"):
        assert re.search(rf"ip saddr {{ 192\.0\.2\.0/24 }} .*{port}", rules)
        assert re.search(rf"ip6 saddr {{ fd00:1::/64 }} .*{port}", rules)
