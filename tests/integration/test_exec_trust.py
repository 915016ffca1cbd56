"""What drover executes is what it verified (agent/base/exec-verify.c), and a plugin that
SIGKILL cannot take away does not freeze its check (agent/checks/plugin.c).

The stuck plugin (plugins/unkillable) is a real one: a tracer outside its process group
holds it with PTRACE_SEIZE and never waits, so after SIGKILL drover, its real parent,
cannot reap it, which is exactly what drover sees of a process in D state on a hung
mount: KILL sent, no exit.
"""
import json
import os
import shutil
import signal
import tempfile
import time

import pytest

from conftest import TOP_SRCDIR

PLUGINS = os.path.join(TOP_SRCDIR, "tests", "integration", "plugins")
NOBODY = 65534

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="ownership rules apply as root")


def q(s):
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def write(path, text, mode=0o755, uid=0):
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, mode)
    os.chown(path, uid, uid)
    return str(path)


@pytest.fixture
def rootdir():
    """A directory drover trusts (root's, 0755) that "nobody" can reach."""
    d = tempfile.mkdtemp(prefix="drover-trust-")
    os.chmod(d, 0o755)
    yield d
    shutil.rmtree(d, ignore_errors=True)


def check_conf(tmp_path, name, argv, extra=""):
    path = tmp_path / "drover.conf"
    path.write_text('plugins: { user = ""; group = ""; };\n'
                    f'checks = ( {{ name = {q(name)}; command = [ '
                    f'{", ".join(q(a) for a in argv)} ]; {extra} }} );\n')
    return str(path)


def kill_tracer(pidfile):
    try:
        with open(pidfile) as f:
            os.kill(int(f.read()), signal.SIGKILL)
    except (OSError, ValueError):
        pass


def runs(pidfile):
    try:
        with open(pidfile + ".runs") as f:
            return len(f.read().split())
    except OSError:
        return 0


# ---- scripts -----------------------------------------------------------------------

def test_script_finds_files_beside_it_by_dollar_zero(run_drover, tmp_path, rootdir):
    # monitoring-plugins' scripts source utils.sh relative to $0: it must stay the real
    # path although the interpreter is executed by its verified descriptor.
    write(os.path.join(rootdir, "utils.sh"), "MSG=from-utils\n", 0o644)
    plugin = write(os.path.join(rootdir, "check_lib"),
                   '#!/bin/sh -e\n. "$(dirname "$0")/utils.sh"\necho "OK - $MSG $0 $1"\n')
    p = run_drover("check", "--json", "-c", check_conf(tmp_path, "lib", [plugin, "arg1"]))
    doc = json.loads(p.stdout)
    assert doc["checks"][0]["output"] == f"OK - from-utils {plugin} arg1", p.stderr
    assert doc["checks"][0]["status"] == 0


def test_interpreter_in_a_user_directory_is_refused(run_drover, tmp_path, rootdir):
    theirs = os.path.join(rootdir, "theirs")
    os.mkdir(theirs, 0o755)
    shutil.copy("/bin/sh", os.path.join(theirs, "sh"))
    os.chown(theirs, NOBODY, NOBODY)
    plugin = write(os.path.join(rootdir, "check_sh"), f"#!{theirs}/sh\necho OK - ran\n")
    conf = check_conf(tmp_path, "sh", [plugin])
    p = run_drover("config-test", "-c", conf)
    assert p.returncode == 1
    assert (f"refusing to run {plugin}: interpreter of {plugin}: directory {theirs} is not "
            f"owned by root (uid {NOBODY})") in p.stderr
    os.chown(theirs, 0, 0)
    p = run_drover("check", "--json", "-c", conf)
    assert json.loads(p.stdout)["checks"][0]["output"] == "OK - ran", p.stderr


# ---- the daemon: checked every run, not only at load ---------------------------------

def evil(path, proof):
    """The unprivileged user's program: proves it ran as root by writing proof."""
    return write(path, f"#!/bin/sh\nid -u > {proof}\necho OK - evil\n", 0o755, NOBODY)


def test_swapped_plugin_is_refused_at_run_time(daemon):
    d = daemon
    d.start(checks=[d.flag_check("web")])
    d.wait_ready()
    d.wait_for(lambda: d.check("web")["output"].startswith("flag 0"), 10, "web runs")
    good = open(d.plugin).read()
    # After the config was accepted, the directory is handed to a user who swaps the file.
    proof = os.path.join(d.dir, "evil-ran")
    os.chown(d.plugin_dir, NOBODY, NOBODY)
    os.replace(evil(d.plugin + ".new", proof), d.plugin)
    d.wait_for(lambda: "refusing to run" in d.check("web")["output"], 10, "refusal")
    c = d.check("web")
    assert c["output"] == (f"refusing to run {d.plugin}: directory {d.plugin_dir} is not "
                           f"owned by root (uid {NOBODY})")
    assert c["status_name"] == "UNKNOWN" and c["state"] == "passing"
    time.sleep(1.5)
    assert not os.path.exists(proof)
    # Once the directory and the file are root's again, the check runs again.
    os.chown(d.plugin_dir, 0, 0)
    os.replace(write(d.plugin + ".new", good), d.plugin)
    d.wait_for(lambda: d.check("web")["output"].startswith("flag 0"), 10, "web runs again")
    assert not os.path.exists(proof)


def test_symlink_into_a_user_directory_is_refused(daemon):
    d = daemon
    theirs = os.path.join(d.dir, "theirs")
    os.mkdir(theirs, 0o755)
    target = write(os.path.join(theirs, "flag"), open(d.plugin).read())
    link = os.path.join(d.plugin_dir, "linked")
    os.symlink(d.plugin, link)
    d.start(checks=[dict(d.flag_check("web"), command=[link, d.flag("web"), d.marker])])
    d.wait_ready()
    d.wait_for(lambda: d.check("web")["output"].startswith("flag 0"), 10, "web runs")
    # A root-owned link, re-pointed into a directory a user owns.
    os.chown(theirs, NOBODY, NOBODY)
    os.symlink(target, link + ".new")
    os.replace(link + ".new", link)
    d.wait_for(lambda: "refusing to run" in d.check("web")["output"], 10, "refusal")
    assert d.check("web")["output"] == (f"refusing to run {link}: directory {theirs} is not "
                                        f"owned by root (uid {NOBODY})")
    os.chown(theirs, 0, 0)
    d.wait_for(lambda: d.check("web")["output"].startswith("flag 0"), 10, "web runs again")


def test_user_owned_hooks_event_directory(daemon, run_drover):
    d = daemon
    record = write(os.path.join(d.dir, "record"),
                   f"#!/bin/sh\ntouch {d.dir}/hook-ran\n")  # root's, in a root directory
    hookdir = os.path.join(d.hooks_dir, "unhealthy")
    os.chown(hookdir, NOBODY, NOBODY)
    planted = os.path.join(hookdir, "10-planted")
    os.symlink(record, planted)  # the user plants a link to a root-owned program
    os.lchown(planted, NOBODY, NOBODY)
    d.write_config(checks=[d.flag_check("web")])
    p = run_drover("config-test", "-c", d.conf)
    assert p.returncode == 1
    assert p.stderr == (f"{planted}: refusing to run this hook: directory {hookdir} is not "
                        f"owned by root (uid {NOBODY})\n")
    d.start()
    d.wait_ready()
    d.set_failing("web")
    d.wait_for(d.replacements, 20, "a replacement request")
    assert not os.path.exists(os.path.join(d.dir, "hook-ran"))
    assert any("hooks.d/unhealthy: 1 ran, 1 failed" in h for h in d.status()["heal"]["history"])
    assert "refusing to run" in d.log()
    os.chown(hookdir, 0, 0)
    os.lchown(planted, 0, 0)  # the link too: one in a sticky or shared place must be root's
    p = run_drover("config-test", "-c", d.conf)
    assert p.returncode == 0, p.stderr


# ---- a plugin SIGKILL cannot take away -----------------------------------------------

def test_unkillable_plugin_gets_timeout_state(run_drover, tmp_path, rootdir):
    plugin = shutil.copy(os.path.join(PLUGINS, "unkillable"), rootdir)
    pidfile = os.path.join(rootdir, "tracer.pid")
    conf = check_conf(tmp_path, "stuck", [plugin, pidfile, "drover-test-unkillable"],
                      "timeout = 1.0; kill_grace = 0.5;")
    try:
        t0 = time.monotonic()
        p = run_drover("check", "--json", "-c", conf, timeout=20)
        elapsed = time.monotonic() - t0
        doc = json.loads(p.stdout)
        assert os.path.exists(pidfile)  # it really was held by the tracer
        assert doc["checks"][0]["status"] == 2
        assert doc["checks"][0]["output"] == "plugin timed out after 1 s"
        assert 1.4 < elapsed < 5
    finally:
        kill_tracer(pidfile)


def test_unkillable_plugin_in_the_daemon(daemon):
    d = daemon
    plugin = shutil.copy(os.path.join(PLUGINS, "unkillable"), d.plugin_dir)
    pidfile = os.path.join(d.dir, "tracer.pid")

    def stuck_check(interval=1):
        return {"name": "stuck", "role": "dependency",
                "command": [plugin, pidfile, "drover-test-unkillable"],
                "interval": interval, "timeout": 1.0, "kill_grace": 0.5}
    try:
        # One slot only: a stuck plugin must not take it from the other check.
        d.start(checks=[stuck_check(), d.flag_check("web")], plugins={"concurrency": 1})
        d.wait_ready()
        d.wait_for(lambda: d.check("stuck")["unkillable_since"], 10, "stuck shown")
        c = d.check("stuck")
        assert c["status_name"] == "CRITICAL" and c["running"], c
        assert abs(c["unkillable_since"] - time.time()) < 10
        d.wait_for(lambda: "did not die of SIGKILL" in d.check("stuck")["output"], 5,
                   "timeout state again, the next interval")
        web = d.check("web")["successes"]
        time.sleep(2.5)
        assert runs(pidfile) == 1  # never spawned again while not reaped
        assert d.check("web")["successes"] >= web + 2  # the other check kept running
        # The process goes at last: reaped, and the check runs again.
        kill_tracer(pidfile)
        d.wait_for(lambda: d.check("stuck")["output"] == "OK - not stuck this time", 10,
                   "stuck check runs again")
        assert d.check("stuck")["unkillable_since"] is None and runs(pidfile) >= 2
        # Stuck again; a reload that changes the check (its run is dropped) and the
        # watchdog keeps being fed.
        os.unlink(pidfile)
        d.wait_for(lambda: d.check("stuck")["unkillable_since"], 10, "stuck again")
        pings = len(d.notify.seen("WATCHDOG=1"))
        d.write_config(checks=[stuck_check(interval=2), d.flag_check("web")])
        d.reload()
        d.wait_for(lambda: len(d.notify.seen("READY=1")) >= 2, 5, "READY=1 after the reload")
        d.wait_for(lambda: len(d.notify.seen("WATCHDOG=1")) >= pings + 2, 5, "watchdog pings")
        assert d.check("web")["state"] == "passing"
    finally:
        kill_tracer(pidfile)


def test_stop_while_a_plugin_is_unkillable(daemon):
    d = daemon
    plugin = shutil.copy(os.path.join(PLUGINS, "unkillable"), d.plugin_dir)
    pidfile = os.path.join(d.dir, "tracer.pid")
    try:
        d.start(checks=[{"name": "stuck", "command": [plugin, pidfile, "drover-test-unk"],
                         "interval": 1, "timeout": 1.0, "kill_grace": 0.5}])
        d.wait_ready()
        d.wait_for(lambda: d.check("stuck")["unkillable_since"], 10, "stuck shown")
        t0 = time.monotonic()
        assert d.stop() == 0
        assert time.monotonic() - t0 < 5
    finally:
        kill_tracer(pidfile)


# ---- a refused launch hook under on_failure = abandon ----------------------------------

def test_refused_launch_hook_does_not_abandon(daemon_factory):
    from test_lifecycle import add_hook, completes, hooks_conf, launching, runs as hook_runs
    d = daemon_factory(instances=1)
    iid = launching(d, hook_timeout=30)
    refused = add_hook(d, "launch", "10-group-writable")
    os.chmod(os.path.join(d.hooks_dir, "launch", "10-group-writable"), 0o775)
    ran = add_hook(d, "launch", "20-runs")
    d.start(checks=[d.flag_check("web")],
            hooks=hooks_conf(on_failure="abandon", launch_timeout=60)).wait_ready()
    d.wait_for(lambda: completes(d), 20, "CompleteLifecycleAction")
    # Abandoning would hand the same image, with the same refused hook, to the next
    # instance: a launch loop. The refusal fails the hook, loudly, and the launch goes on.
    assert completes(d)[0]["params"]["LifecycleActionResult"] == "CONTINUE"
    assert hook_runs(refused) == 0 and hook_runs(ran) == 1
    assert "refused (refusing to run" in d.log()
    assert "is writable by group or others" in d.log()
    d.sim.wait_for(lambda st: next(i for i in st["instances"] if i["id"] == iid)["state"]
                   == "InService", 10)
