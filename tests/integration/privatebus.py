"""A private D-Bus bus with the stand-in systemd manager, as a pytest fixture.

drover finds the "system bus" through $DBUS_SYSTEM_BUS_ADDRESS, so pointing that at the
private bus makes drover talk to fake_systemd.py instead of the host's systemd.
"""
import json
import os
import subprocess
import time

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))


class FakeSystemd:
    def __init__(self, workdir, job_delay=0.2):
        self.workdir = workdir
        self.job_delay = job_delay
        self.log = os.path.join(workdir, "systemd-calls.jsonl")
        self.address = f"unix:path={os.path.join(workdir, 'bus.sock')}"
        self.start()

    def start(self):
        sock = os.path.join(self.workdir, "bus.sock")
        self.bus = subprocess.Popen(
            ["dbus-daemon", "--session", "--nofork", "--nopidfile", f"--address={self.address}"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _wait_for(lambda: os.path.exists(sock), "dbus-daemon socket")
        ready = os.path.join(self.workdir, "fake-systemd.ready")
        self.manager = subprocess.Popen(
            ["/usr/bin/python3", os.path.join(HERE, "fake_systemd.py"), "--address", self.address,
             "--log", self.log, "--ready-file", ready, "--job-delay", str(self.job_delay)])
        _wait_for(lambda: os.path.exists(ready), "fake systemd manager")

    def restart(self):
        """dbus restarted: every connection to it is gone; the manager comes back."""
        self.stop()
        for f in ("bus.sock", "fake-systemd.ready"):
            try:
                os.unlink(os.path.join(self.workdir, f))
            except FileNotFoundError:
                pass
        self.start()

    def calls(self, method=None):
        if not os.path.exists(self.log):
            return []
        with open(self.log) as f:
            calls = [json.loads(line) for line in f if line.strip()]
        return [c for c in calls if method is None or c["method"] == method]

    def set_result(self, unit, result):
        subprocess.run(["dbus-send", f"--bus={self.address}", "--print-reply",
                        "--dest=org.freedesktop.systemd1", "/org/freedesktop/systemd1",
                        "org.drover.Test.SetResult", f"string:{unit}", f"string:{result}"],
                       check=True, capture_output=True, timeout=10)

    def stop(self):
        for p in (self.manager, self.bus):
            p.terminate()
            try:
                p.wait(timeout=5)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()


def _wait_for(cond, what, timeout=10):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return
        time.sleep(0.02)
    raise RuntimeError(f"{what} did not come up within {timeout} s")


@pytest.fixture
def fake_systemd(tmp_path):
    fs = FakeSystemd(str(tmp_path))
    yield fs
    fs.stop()
