"""remedy.c against the stand-in systemd manager on a private bus."""
import os
import subprocess

from privatebus import fake_systemd  # noqa: F401

DRIVER = os.path.join(os.environ.get("top_builddir", "build"), "tests", "unit", "remedy-restart")


def restart(fake, unit, timeout=5):
    env = dict(os.environ, DBUS_SYSTEM_BUS_ADDRESS=fake.address)
    return subprocess.run([DRIVER, unit, str(timeout)], capture_output=True, text=True,
                          timeout=30, env=env)


def test_restart_waits_for_job_done(fake_systemd):
    p = restart(fake_systemd, "nginx.service")
    assert p.stdout == "result=0 job_result=done\n", p.stderr
    assert [c["args"] for c in fake_systemd.calls("RestartUnit")] == [["nginx.service", "replace"]]
    assert fake_systemd.calls("Subscribe")


def test_restart_reports_failed_job(fake_systemd):
    fake_systemd.set_result("broken.service", "failed")
    p = restart(fake_systemd, "broken.service")
    assert p.stdout == f"result={-5} job_result=failed\n"


def test_no_bus_is_an_error_not_a_crash(tmp_path):
    env = dict(os.environ, DBUS_SYSTEM_BUS_ADDRESS=f"unix:path={tmp_path}/nothing")
    p = subprocess.run([DRIVER, "x.service", "1"], capture_output=True, text=True, timeout=30,
                       env=env)
    assert p.returncode == 1
    assert p.stdout.startswith("result=-")


def test_reconnects_after_the_bus_restarts(fake_systemd):
    """One connection for the daemon's life must not mean one bus for its life: after a
    dbus restart the next RestartUnit goes out on a new connection and succeeds."""
    env = dict(os.environ, DBUS_SYSTEM_BUS_ADDRESS=fake_systemd.address)
    p = subprocess.Popen([DRIVER, "nginx.service", "5", "2"], stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, text=True, env=env)
    try:
        assert p.stdout.readline() == "result=0 job_result=done\n"
        fake_systemd.restart()
        p.stdin.write("go\n")
        p.stdin.flush()
        assert p.stdout.readline() == "result=0 job_result=done\n"
        assert p.wait(timeout=30) == 0
    finally:
        p.kill()
    assert len(fake_systemd.calls("RestartUnit")) == 2
