"""A harness for `drover run` end to end: the sim, the stand-in systemd on a private bus,
a NOTIFY_SOCKET listener, and the real daemon pointed at all three.

    def test_x(daemon):                 # fixture: one sim instance, drover not started
        d = daemon.start(checks=[daemon.flag_check("web")])
        d.wait_ready()
        d.set_failing("web")
        d.wait_for(lambda: d.calls("SetInstanceHealth"))

`daemon_factory(instances=N, ...)` builds one with other sim arguments. Everything it
starts is stopped after the test, and the test fails if a plugin process outlives it.
"""
import json
import os
import signal
import socket
import subprocess
import threading
import time
import uuid

import pytest

from privatebus import FakeSystemd
from simfixture import Sim

# The flag plugin: exits with the number in FLAG (0 when missing), after sleeping the
# seconds in FLAG.sleep (if any) in a child, whose pid and its own go to FLAG.pids so a
# test can prove none outlives drover. argv[2] is a marker for /proc searches.
FLAG_PLUGIN = r"""#!/bin/sh
f="$1"
code=$(cat "$f" 2>/dev/null || echo 0)
if [ -s "$f.sleep" ]; then
        sleep "$(cat "$f.sleep")" &
        echo "$! $$" >> "$f.pids"
        wait
fi
echo "flag $code | 'value'=$code;1;2;0;3"
exit "$code"
"""

HOOK_SCRIPT = r"""#!/bin/sh
env | grep '^DROVER_' | sort > "{out}.tmp"
date +%s.%N >> "{out}.tmp"
mv "{out}.tmp" "{out}"
"""


def q(s):
    return '"' + str(s).replace("\\", "\\\\").replace('"', '\\"') + '"'


def conf_value(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    if isinstance(v, (list, tuple)):
        return "[ " + ", ".join(conf_value(x) for x in v) + " ]"
    if isinstance(v, dict):
        return "{ " + " ".join(f"{k} = {conf_value(x)};" for k, x in v.items()) + " }"
    return q(v)


class NotifyListener:
    """Records every sd_notify datagram sent to its socket, with the time it came."""

    def __init__(self, path):
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(path)
        self.sock.settimeout(0.2)
        self.messages = []       # (monotonic time, "KEY=value")
        self.lock = threading.Lock()
        self.running = True
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while self.running:
            try:
                data = self.sock.recv(65536)
            except socket.timeout:
                continue
            except OSError:
                return
            now = time.monotonic()
            with self.lock:
                for line in data.decode(errors="replace").split("\n"):
                    if line:
                        self.messages.append((now, line))

    def seen(self, prefix="", since=0):
        """Messages starting with prefix, from the since-th message on."""
        with self.lock:
            return [m for _, m in self.messages[since:] if m.startswith(prefix)]

    def count(self):
        with self.lock:
            return len(self.messages)

    def close(self):
        self.running = False
        self.thread.join(timeout=2)
        self.sock.close()


class Daemon:
    def __init__(self, workdir, drover_bin, sim, systemd):
        self.dir = str(workdir)
        self.bin = drover_bin
        self.sim = sim
        self.systemd = systemd
        self.marker = "drover-daemon-" + uuid.uuid4().hex[:12]
        self.instance_id = sim.instance_ids[0]
        self.imds_port = sim.instance(self.instance_id)["imds_port"]
        self.conf = os.path.join(self.dir, "drover.conf")
        self.state_dir = os.path.join(self.dir, "state")
        self.runtime_dir = os.path.join(self.dir, "run")
        self.hooks_dir = os.path.join(self.dir, "hooks.d")
        self.plugin_dir = os.path.join(self.dir, "plugins")
        self.log_path = os.path.join(self.dir, "drover.log")
        for d in (self.state_dir, self.runtime_dir, self.plugin_dir,
                  os.path.join(self.hooks_dir, "unhealthy")):
            os.makedirs(d, mode=0o755, exist_ok=True)
        self.plugin = os.path.join(self.plugin_dir, "flag")
        with open(self.plugin, "w") as f:
            f.write(FLAG_PLUGIN)
        os.chmod(self.plugin, 0o755)
        self.notify = NotifyListener(os.path.join(self.dir, "notify.sock"))
        self.proc = None
        self.started_at = 0
        self.settings = {}
        self.checks = []

    # ---- configuration ----
    def flag(self, name):
        return os.path.join(self.dir, f"flag-{name}")

    def flag_check(self, name, role="liveness", interval=1, fall=2, rise=1, **extra):
        c = {"name": name, "role": role, "command": [self.plugin, self.flag(name), self.marker],
             "interval": interval, "fall": fall, "rise": rise}
        c.update(extra)
        return c

    def restart_unit_check(self, name="web", unit="nginx.service", attempts=1, **extra):
        return self.flag_check(name, remediate={"restart_unit": unit, "attempts": attempts,
                                                "backoff": 0, "delay": 0, "settle": 1},
                               **extra)

    def write_config(self, checks=None, **sections):
        """sections: policy={...}, metrics={...}, ... merged over the test defaults."""
        if checks is not None:
            self.checks = checks
        for k, v in sections.items():
            self.settings.setdefault(k, {}).update(v)
        aws = self.sim.aws_url
        base = {
            "imds": {"endpoint": f"http://127.0.0.1:{self.imds_port}", "timeout_ms": 1000,
                     "retries": 1},
            "aws": {"region": self.sim.region, "timeout_ms": 3000, "max_attempts": 1,
                    "endpoints": {"autoscaling": aws, "ec2": aws, "cloudwatch": aws}},
            "plugins": {"user": "", "group": "", "timeout": 10, "kill_grace": 0.5},
            "policy": {"grace_period": 0, "jitter": 0.2, "confirm_interval": 1},
            "metrics": {"interval": 1},
            "hooks": {"dir": self.hooks_dir, "timeout": 10},
        }
        for k, v in self.settings.items():
            base.setdefault(k, {}).update(v)
        text = "".join(f"{k}: {conf_value(v)};\n" for k, v in base.items())
        text += "checks = (\n  " + ",\n  ".join(conf_value(c) for c in self.checks) + "\n);\n"
        tmp = self.conf + ".tmp"
        with open(tmp, "w") as f:
            f.write(text)
        os.replace(tmp, self.conf)
        return text

    def write_broken_config(self):
        with open(self.conf, "a") as f:
            f.write("no_such_key = 1;\n")

    def add_hook(self, name="10-record"):
        out = os.path.join(self.dir, f"hook-{name}.out")
        path = os.path.join(self.hooks_dir, "unhealthy", name)
        with open(path, "w") as f:
            f.write(HOOK_SCRIPT.format(out=out))
        os.chmod(path, 0o755)
        return out

    # ---- the process ----
    def env(self):
        e = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8",
             "STATE_DIRECTORY": self.state_dir, "RUNTIME_DIRECTORY": self.runtime_dir}
        for k in ("ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS"):
            if k in os.environ:
                e[k] = os.environ[k]
        return e

    def start(self, checks=None, watchdog_sec=2, **sections):
        if checks is not None or sections or not os.path.exists(self.conf):
            self.write_config(checks, **sections)
        e = self.env()
        e.update({"DBUS_SYSTEM_BUS_ADDRESS": self.systemd.address,
                  "NOTIFY_SOCKET": self.notify.path,
                  "WATCHDOG_USEC": str(int(watchdog_sec * 1e6))})
        self.started_at = self.notify.count()
        log = open(self.log_path, "ab")
        # WATCHDOG_PID must be drover's own pid: the shell's, which exec keeps.
        self.proc = subprocess.Popen(
            ["/bin/sh", "-c", 'WATCHDOG_PID=$$ exec "$0" run -c "$1"', self.bin, self.conf],
            stdin=subprocess.DEVNULL, stdout=log, stderr=log, env=e)
        log.close()
        return self

    def wait_ready(self, timeout=10):
        self.wait_for(lambda: self.notify.seen("READY=1", self.started_at), timeout, "READY=1")
        return self

    def signal(self, sig):
        self.proc.send_signal(sig)

    def reload(self):
        n = len(self.notify.seen("RELOADING=1"))
        self.signal(signal.SIGHUP)
        self.wait_for(lambda: len(self.notify.seen("RELOADING=1")) > n, 10, "RELOADING=1")

    def stop(self, timeout=15):
        """SIGTERM; returns the exit status."""
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else None
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError("drover did not stop within %s s of SIGTERM" % timeout)

    sigterm = stop

    def sigkill(self):
        self.proc.kill()
        self.proc.wait()

    def restart(self):
        self.stop()
        return self.start()

    def log(self):
        with open(self.log_path, errors="replace") as f:
            return f.read()

    # ---- observing ----
    def status(self, timeout=10):
        p = subprocess.run([self.bin, "status", "--json"], capture_output=True, text=True,
                           timeout=timeout, env=self.env())
        if p.returncode != 0:
            raise AssertionError(f"drover status exited {p.returncode}: {p.stderr}")
        return json.loads(p.stdout)

    def check(self, name):
        return next(c for c in self.status()["checks"] if c["name"] == name)

    def wait_for(self, predicate, timeout=15, what="condition", interval=0.1):
        deadline = time.monotonic() + timeout
        while True:
            if self.proc is not None and self.proc.poll() is not None:
                raise AssertionError(f"drover exited ({self.proc.returncode}) while waiting "
                                     f"for {what}:\n{self.log()[-3000:]}")
            result = predicate()
            if result:
                return result
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {what}:\n{self.log()[-3000:]}")
            time.sleep(interval)

    def calls(self, action):
        """AWS calls of that action about (or, without an InstanceId, signed by) us."""
        out = []
        for c in self.sim.calls(action):
            iid = c["params"].get("InstanceId") or c["params"].get("InstanceIds.member.1")
            if iid == self.instance_id or (iid is None and c.get("instance") == self.instance_id):
                out.append(c)
        return out

    def replacements(self):
        return [c for a in ("SetInstanceHealth", "TerminateInstanceInAutoScalingGroup",
                            "TerminateInstances") for c in self.calls(a)
                if c["status"] == 200]

    def decision(self):
        return self.status()["heal"]["decision"]

    def set_failing(self, name, code=2):
        tmp = self.flag(name) + ".tmp"
        with open(tmp, "w") as f:
            f.write(f"{code}\n")
        os.replace(tmp, self.flag(name))

    def set_slow(self, name, seconds):
        with open(self.flag(name) + ".sleep", "w") as f:
            f.write(f"{seconds}\n")

    def plugin_pids(self):
        pids = set()
        for name in os.listdir(self.dir):
            if name.endswith(".pids"):
                with open(os.path.join(self.dir, name)) as f:
                    pids.update(int(p) for p in f.read().split())
        return pids

    def live_processes(self):
        """Plugin processes (by recorded pid or marker) still alive, zombies excluded."""
        found = set()
        for pid in os.listdir("/proc"):
            if not pid.isdigit():
                continue
            try:
                with open(f"/proc/{pid}/cmdline", "rb") as f:
                    if self.marker.encode() in f.read():
                        found.add(int(pid))
            except OSError:
                pass
        for pid in self.plugin_pids():
            try:
                with open(f"/proc/{pid}/stat") as f:
                    if f.read().rsplit(")", 1)[1].split()[0] != "Z":
                        found.add(pid)
            except OSError:
                pass
        return found

    def assert_no_process_left(self, timeout=3):
        deadline = time.monotonic() + timeout
        while self.live_processes() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert self.live_processes() == set(), f"left behind: {self.live_processes()}"

    def cleanup(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        for pid in self.live_processes():
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        self.notify.close()


@pytest.fixture
def daemon_factory(tmp_path, drover_bin):
    made = []

    def make(instances=1, time_scale=10, **simargs):
        n = len(made)
        work = tmp_path / f"d{n}"
        work.mkdir(mode=0o755)
        sim = Sim(work, instances=instances, time_scale=time_scale, **simargs)
        try:
            systemd = FakeSystemd(str(work), job_delay=0.1)
        except Exception:
            sim.stop()
            raise
        d = Daemon(work, drover_bin, sim, systemd)
        made.append(d)
        return d
    yield make
    problems = []
    for d in made:
        # Every test ends with a clean stop, and nothing it started may outlive drover.
        try:
            if d.proc is not None and d.proc.poll() is None and d.stop() != 0:
                problems.append(f"drover exited {d.proc.returncode} on SIGTERM")
            deadline = time.monotonic() + 3
            while d.live_processes() and time.monotonic() < deadline:
                time.sleep(0.05)
            if d.live_processes():
                problems.append(f"processes left behind: {d.live_processes()}")
        except AssertionError as e:
            problems.append(str(e))
        d.cleanup()
        d.systemd.stop()
        d.sim.stop()
    assert not problems, problems


@pytest.fixture
def daemon(daemon_factory):
    return daemon_factory()
