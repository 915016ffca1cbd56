"""The .deb under a real systemd: installed, run, reloaded, killed by its watchdog,
healing a real unit, upgraded and purged, all inside throwaway containers
(container.py). IMDS and AWS are tests/sim, started in the container's network
namespace; without it the container has no network at all."""
import json
import os
import re
import shutil
import subprocess
import time

import pytest

from conftest import TOP_SRCDIR, require_tool, run
from container import Container

pytestmark = pytest.mark.slow
SIM_DIR = os.path.join(TOP_SRCDIR, "tests", "sim")


@pytest.fixture
def container(tmp_path):
    for tool in ("systemd-nspawn", "debootstrap", "nsenter"):
        require_tool(tool)
    with Container(tmp_path) as c:
        yield c


def sim_config(sim, extra=""):
    """A drop-in pointing drover at the sim running in the container's netns."""
    (port,) = sim["imds"].values()
    aws = f"http://127.0.0.1:{sim['aws_port']}"
    return (f'imds: {{ endpoint = "http://127.0.0.1:{port}"; timeout_ms = 500; }};\n'
            f'aws: {{ region = "{sim["region"]}";\n'
            f'  endpoints: {{ autoscaling = "{aws}"; ec2 = "{aws}"; cloudwatch = "{aws}"; }}; }};\n'
            'policy: { action = "none"; jitter = 0.0; };\n'
            'metrics: { enabled = false; };\n' + extra)


def installed_with_sim(c, deb, extra=""):
    """Starts the sim, writes the drop-in, installs the .deb (which starts drover)."""
    sim = c.start_sim(SIM_DIR, "--instances", "1")
    c.write("/etc/drover/conf.d/10-sim.conf", sim_config(sim, extra))
    c.install(deb["deb"])
    require_daemon(c)
    wait_active(c)
    return sim


def require_daemon(c):
    if not re.search(r"^\s+run\b", c.sh("drover --help").stdout, re.M):
        pytest.skip("this drover has no `run` command yet")


def show(c, unit, *props):
    out = c.sh(f"systemctl show {unit} " + " ".join(f"-p {p}" for p in props)).stdout
    return dict(line.split("=", 1) for line in out.splitlines() if "=" in line)


def wait_active(c, unit="drover.service", timeout=30):
    return c.wait_for(f"test \"$(systemctl is-active {unit})\" = active", timeout=timeout)


def journal(c, *args):
    return c.sh("journalctl --no-pager -q " + " ".join(args), check=False).stdout


def test_install_creates_user_dirs_and_enables_the_service(container, deb):
    c = container
    c.install(deb["deb"])
    assert c.sh("getent passwd drover").stdout.startswith("drover:")
    assert "nologin" in c.sh("getent passwd drover").stdout
    assert c.sh("systemctl is-enabled drover.service").stdout.strip() == "enabled"
    assert "/etc/drover/drover.conf" in c.sh("dpkg-query -W -f='${Conffiles}' drover").stdout
    r = c.sh("drover config-test")
    assert "configuration OK" in r.stdout
    for d in ("launch", "terminate", "spot-interruption", "rebalance", "scheduled-event",
              "unhealthy"):
        c.sh(f"test -d /etc/drover/hooks.d/{d}")
    c.sh("test -d /var/lib/drover && test -x /usr/libexec/drover/plugins/check_fs")
    # A shipped plugin works in the installed system, as the drover user.
    r = c.sh("setpriv --reuid=drover --regid=drover --clear-groups "
             "/usr/libexec/drover/plugins/check_systemd_unit -W 0 -u dbus.service",
             check=False)
    assert r.returncode == 0 and " OK" in r.stdout, r.stdout + r.stderr


def test_shipped_plugin_keeps_its_history_as_the_drover_user(container, deb):
    """check_systemd_unit, run by drover as the drover user in its default mode, keeps
    its restart history in /var/lib/drover/plugins (created by the package)."""
    c = container
    c.install(deb["deb"])
    wait_active(c)
    c.write("/root/t/drover.conf",
            'checks = ( { name = "dbus"; role = "liveness";\n'
            '  command = [ "/usr/libexec/drover/plugins/check_systemd_unit", "-u",\n'
            '              "dbus.service" ]; } );\n')
    assert c.sh("stat -c %U:%a /var/lib/drover/plugins").stdout.strip() == "drover:750"
    r = c.sh("drover check -c /root/t/drover.conf", check=False)
    assert r.returncode == 0, r.stdout + r.stderr


def test_service_reaches_active_through_ready(container, deb):
    c = container
    installed_with_sim(c, deb)
    p = show(c, "drover.service", "Type", "ActiveState", "SubState", "StatusText",
             "NRestarts", "WatchdogUSec", "ExecMainPID")
    assert p["Type"] == "notify" and p["ActiveState"] == "active", p
    assert p["NRestarts"] == "0" and p["WatchdogUSec"] != "0", p
    # STATUS= is how drover says what it is doing; `drover status` asks it directly.
    c.wait_for("systemctl show -p StatusText --value drover | grep -q 'checks passing'")
    r = c.sh("drover status", check=False)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "i-" in journal(c, "-u", "drover", "-o", "cat")


def test_journal_has_structured_fields(container, deb):
    c = container
    extra = ('checks = ( { name = "always-ok"; role = "liveness";\n'
             '  command = [ "/bin/true" ]; interval = 1.0; } );\n')
    sim = installed_with_sim(c, deb, extra)
    c.wait_for("journalctl -u drover -o export DROVER_CHECK=always-ok | grep -q .")
    entries = journal(c, "-u", "drover", "-o", "export", "DROVER_CHECK=always-ok")
    assert "DROVER_STATE=" in entries and "SYSLOG_IDENTIFIER=drover" in entries
    (instance,) = sim["imds"].keys()
    assert f"DROVER_INSTANCE_ID={instance}" in entries
    assert "PRIORITY=" in entries


def test_reload_applies_a_new_config_and_refuses_a_broken_one(container, deb):
    c = container
    installed_with_sim(c, deb)
    pid = show(c, "drover.service", "MainPID")["MainPID"]
    c.write("/etc/drover/conf.d/50-new.conf",
            'checks = ( { name = "added"; command = [ "/bin/true" ]; interval = 1.0; } );\n')
    c.sh("systemctl reload drover.service")
    c.wait_for("journalctl -u drover -o export DROVER_CHECK=added | grep -q .")
    c.wait_for("drover status | grep -q added")

    c.write("/etc/drover/conf.d/60-broken.conf", 'checks = ( { name = "x"; command = 5; } );\n')
    r = c.sh("systemctl reload drover.service", check=False)
    assert r.returncode != 0
    assert "60-broken.conf:1" in journal(c, "-u", "drover", "-o", "cat")
    p = show(c, "drover.service", "MainPID", "ActiveState")
    assert p == {"MainPID": pid, "ActiveState": "active"}, "kept running, same process"
    assert "added" in c.sh("drover status").stdout, "kept the old configuration"


def test_watchdog_restarts_a_hung_drover(container, deb):
    c = container
    c.write("/etc/systemd/system/drover.service.d/50-test.conf",
            "[Service]\nWatchdogSec=2s\nTimeoutAbortSec=1s\nRestartSec=1s\n")
    installed_with_sim(c, deb)
    time.sleep(5)
    p = show(c, "drover.service", "MainPID", "NRestarts", "WatchdogUSec")
    assert p["NRestarts"] == "0", "a drover that pings its watchdog is not restarted"
    assert p["WatchdogUSec"] == "2s"
    c.sh(f"kill -STOP {p['MainPID']}")
    c.wait_for("test \"$(systemctl show -p NRestarts --value drover)\" -ge 1", timeout=20)
    wait_active(c)
    assert show(c, "drover.service", "MainPID")["MainPID"] != p["MainPID"]
    assert "Watchdog timeout" in journal(c, "-u", "drover", "-o", "cat")


def test_restart_unit_remediation_restarts_a_real_unit(container, deb):
    c = container
    c.write("/etc/systemd/system/victim.service",
            "[Unit]\nDescription=a service drover heals\n"
            "[Service]\nExecStart=/bin/sleep infinity\n")
    c.sh("systemctl daemon-reload && systemctl start victim.service")
    extra = ('checks = ( { name = "victim"; role = "liveness";\n'
             '  command = [ "/usr/libexec/drover/plugins/check_systemd_unit", "-W", "0",\n'
             '              "-u", "victim.service" ];\n'
             '  interval = 1.0; fall = 2; rise = 1;\n'
             '  remediate = { restart_unit = "victim.service"; attempts = 2; delay = 0.0;\n'
             '                backoff = 0.0; }; } );\n')
    installed_with_sim(c, deb, extra)
    c.wait_for("journalctl -u drover -o export DROVER_CHECK=victim | grep -q "
               "DROVER_STATE=", timeout=20)
    before = show(c, "victim.service", "InvocationID")["InvocationID"]
    c.sh("systemctl kill --kill-whom=main --signal=KILL victim.service")
    c.wait_for("systemctl is-failed -q victim.service || "
               "test \"$(systemctl is-active victim.service)\" = inactive", timeout=10)
    # drover notices (fall = 2), restarts it over D-Bus, and the check passes again.
    wait_active(c, "victim.service", timeout=40)
    assert show(c, "victim.service", "InvocationID")["InvocationID"] != before
    log = journal(c, "-u", "drover", "-o", "cat")
    assert "restarting victim.service" in log, log[-3000:]
    c.wait_for("drover status --json | grep -q victim")


def test_terminate_target_pulls_in_a_drain_unit(container, deb):
    if not os.path.exists(os.path.join(TOP_SRCDIR, "units", "drover-terminate.target")):
        pytest.skip("units/drover-terminate.target does not exist yet")
    c = container
    c.install(deb["deb"])
    c.write("/etc/systemd/system/drain.service",
            "[Unit]\nDescription=drain connections before termination\n"
            "[Service]\nType=oneshot\nRemainAfterExit=yes\n"
            "ExecStart=/bin/sh -c 'echo drained > /run/drained'\n"
            "[Install]\nWantedBy=drover-terminate.target\n")
    c.sh("systemctl daemon-reload && systemctl enable drain.service")
    c.sh("systemctl start drover-terminate.target", timeout=60)
    assert c.sh("cat /run/drained").stdout.strip() == "drained"
    assert show(c, "drain.service", "ActiveState")["ActiveState"] == "active"


_SIM_REQUEST = """
import sys, urllib.request
data = sys.stdin.buffer.read() or None
r = urllib.request.Request(sys.argv[1], method=sys.argv[2], data=data,
                           headers={"Content-Type": "application/json"})
sys.stdout.write(urllib.request.urlopen(r, timeout=10).read().decode())
"""


def sim_request(c, sim, method, path, body=None):
    """Calls the sim's control API, which listens in the container's netns."""
    p = subprocess.run(["nsenter", "-t", str(c.leader), "-n", "/usr/bin/python3", "-c",
                        _SIM_REQUEST, f"http://127.0.0.1:{sim['control_port']}{path}",
                        method], input=json.dumps(body) if body is not None else "",
                       capture_output=True, text=True, timeout=30)
    assert p.returncode == 0, p.stderr
    return json.loads(p.stdout or "null")


def test_terminate_lifecycle_starts_the_target_and_completes(container, deb):
    """The real flow: the group starts terminating the instance, drover sees it in IMDS,
    runs hooks.d/terminate/, starts drover-terminate.target (which pulls in a drain
    unit) and completes the lifecycle action."""
    if not os.path.exists(os.path.join(TOP_SRCDIR, "units", "drover-terminate.target")):
        pytest.skip("units/drover-terminate.target does not exist yet")
    c = container
    c.write("/etc/systemd/system/drain.service",
            "[Unit]\nDescription=drain connections before termination\n"
            "[Service]\nType=oneshot\nRemainAfterExit=yes\n"
            "ExecStart=/bin/sh -c 'echo drained > /run/drained'\n"
            "[Install]\nWantedBy=drover-terminate.target\n")
    c.write("/etc/drover/hooks.d/terminate/10-mark",
            "#!/bin/sh\necho \"$DROVER_EVENT $DROVER_LIFECYCLE_HOOK\" > /tmp/hook-ran\n",
            mode=0o755)
    sim = c.start_sim(SIM_DIR, "--instances", "1", "--lifecycle-hook",
                      "drain:terminate:300:CONTINUE")
    c.write("/etc/drover/conf.d/10-sim.conf", sim_config(
        sim, 'hooks: { lifecycle_hook_names = { terminate = "drain"; };\n'
             '         poll_interval = 1; };\n'))
    c.sh("systemctl daemon-reload && systemctl enable drain.service")
    c.install(deb["deb"])
    wait_active(c)
    time.sleep(1)
    assert c.sh("test -e /run/drained", check=False).returncode != 0, \
        "installing drover must not start drover-terminate.target"
    (instance,) = sim["imds"].keys()
    sim_request(c, sim, "POST", f"/instances/{instance}/terminate", {"decrement": False})
    c.wait_for("test -e /run/drained", timeout=30)
    assert "terminate drain" in c.sh("cat /tmp/hook-ran").stdout
    deadline = time.monotonic() + 30
    while not sim_request(c, sim, "GET", "/calls?action=CompleteLifecycleAction"):
        assert time.monotonic() < deadline, "drover did not complete the lifecycle action"
        time.sleep(0.5)


def bumped(deb_path, tmp_path, version):
    """The same package with another version, to test an upgrade (dpkg-deb only)."""
    tree = tmp_path / "repack"
    run(["dpkg-deb", "-R", deb_path, str(tree)])
    control = tree / "DEBIAN" / "control"
    control.write_text(re.sub(r"^Version: .*$", f"Version: {version}",
                              control.read_text(), flags=re.M))
    out = tmp_path / f"drover_{version}_amd64.deb"
    run(["dpkg-deb", "--root-owner-group", "-b", str(tree), str(out)])
    shutil.rmtree(tree)
    return str(out)


def test_upgrade_keeps_config_and_restarts_then_purge_removes(container, deb, tmp_path):
    c = container
    c.install(deb["deb"])
    require_daemon(c)
    wait_active(c)
    with open(c.path("/etc/drover/drover.conf"), "a") as f:
        f.write("# edited by the administrator\n")
    pid = show(c, "drover.service", "MainPID")["MainPID"]

    c.install(bumped(deb["deb"], tmp_path, "0.1.0-2"))
    assert c.sh("dpkg-query -W -f='${Version}' drover").stdout == "0.1.0-2"
    assert "# edited by the administrator" in c.sh("cat /etc/drover/drover.conf").stdout
    wait_active(c)
    assert show(c, "drover.service", "MainPID")["MainPID"] != pid, "restarted on upgrade"

    # Purge removes the package's configuration, keeps the administrator's own files
    # (a drop-in) and says so (packaging/debian/drover.postrm, README "Install").
    c.write("/etc/drover/conf.d/50-mine.conf", "policy: { dry_run = true; };\n")
    purge = c.sh("dpkg --purge drover 2>&1", timeout=120)
    assert "/etc/drover/conf.d/50-mine.conf" in purge.stdout, purge.stdout
    assert c.sh("test -e /etc/drover/drover.conf", check=False).returncode != 0
    assert c.sh("cat /etc/drover/conf.d/50-mine.conf").stdout.startswith("policy:")
    c.sh("rm -r /etc/drover")
    assert c.sh("dpkg-query -W -f='${Status}' drover", check=False).stdout in (
        "", "unknown ok not-installed")
    for gone in ("/etc/drover", "/var/lib/drover", "/usr/bin/drover",
                 "/lib/systemd/system/drover.service",
                 "/etc/systemd/system/multi-user.target.wants/drover.service"):
        assert c.sh(f"test -e {gone}", check=False).returncode != 0, f"{gone} left behind"
    assert c.sh("pgrep -x drover", check=False).returncode != 0
