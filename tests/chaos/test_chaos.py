"""The chaos matrix: one fault at a time against the real `drover run` (daemonfix.py)
and tests/sim. Every case asserts, through chaoslib.Watch, that drover does not crash,
keeps answering `drover status`, keeps pinging the watchdog, keeps memory and file
descriptors bounded, replaces nothing while its instance is healthy, and performs the
needed action (one replacement request, one unit restart) exactly once.

Cases marked `full` run only with DROVER_CHAOS=full (tests/chaos/run); the rest are the
quick subset CI runs.
"""
import os
import signal
import subprocess
import time

import pytest
from chaoslib import (Watch, nothing_replaced, plugin_check, replaced_once, successful,
                      write_plugin)

full = pytest.mark.full
QUICK_MODE = os.environ.get("DROVER_CHAOS", "quick") != "full"
HEALTHY_S = 2 if QUICK_MODE else 4  # under the fault, every check passing: nothing replaced
SICK_S = 2 if QUICK_MODE else 5     # under the fault, the liveness check failing
SETTLE_S = 3 if QUICK_MODE else 5   # after the replacement: no second one may follow


def started(d, checks=None, **sections):
    d.start(checks=checks or [d.flag_check("web")], **sections)
    d.wait_ready()
    w = Watch(d)
    w.until(lambda st: st["instance"]["known"] and st["checks"][0]["state"] == "passing",
            15, "identity and a passing check")
    return w


# ---- IMDS and AWS faults ---------------------------------------------------------------
#
# Shape of every case: the fault goes on while the instance is healthy (nothing may be
# replaced), then the liveness check fails under the fault (drover may or may not manage
# to act, but never twice), then the fault clears: exactly one replacement in all.

IMDS_FAULTS = {
    "imds-down": dict(kind="drop"),
    "imds-slow": dict(kind="latency", seconds=3),          # imds.timeout_ms is 1000
    "imds-garbage": dict(kind="garbage"),
    "imds-truncated": dict(kind="truncate"),
    "imds-401-storm": dict(kind="status", status=401),
    "imds-throttled": dict(kind="throttle"),
    "imds-5xx": dict(kind="status", status=500),
    # (with the credentials drover holds expired, so it has to fetch new ones)
    "imds-credentials-garbage": dict(kind="garbage", path="/latest/meta-data/iam/",
                                     expire_credentials=True),
    "imds-lifecycle-garbage": dict(kind="garbage",
                                   path="/latest/meta-data/autoscaling/"),
}
AWS_FAULTS = {
    "aws-5xx-burst": dict(kind="status", status=500, count=8),
    "aws-503-outage": dict(kind="status", status=503),
    "aws-throttled": dict(kind="throttle"),
    "aws-timeouts": dict(kind="latency", seconds=4),        # aws.timeout_ms is 3000
    "aws-dropped": dict(kind="drop"),
    "aws-garbage-xml": dict(kind="garbage"),
    "aws-truncated": dict(kind="truncate"),
    "aws-error-500-on-request": dict(kind="status", status=500, path="SetInstanceHealth",
                                     count=2),
    "aws-drop-on-request": dict(kind="drop", path="SetInstanceHealth", count=1),
    "aws-timeout-on-request": dict(kind="latency", seconds=4, path="SetInstanceHealth",
                                   count=1),
    "aws-garbage-describe": dict(kind="garbage", path="DescribeAutoScalingGroups"),
}
QUICK = {"imds-garbage", "aws-503-outage", "aws-timeout-on-request"}


def fault_case(name, table):
    marks = () if name in QUICK else (full,)
    return pytest.param(name, table[name], id=name, marks=marks)


def fault_then_sick(d, endpoint, spec):
    w = started(d)
    spec = dict(spec)
    expire = spec.pop("expire_credentials", False)
    d.sim.fault(endpoint, **spec)
    if expire:
        d.sim.control("POST", "/credentials/expire", {"reissue": True})
    w.run(HEALTHY_S, each=nothing_replaced(d))
    d.set_failing("web")
    w.until(lambda st: st["checks"][0]["state"] == "failed", 10, "web failed")
    w.run(SICK_S, each=lambda st: len(d.replacements()) <= 1 or pytest.fail(
        f"asked twice: {d.replacements()}"))
    # The fault was really in the way (hit, or used up if it had a count).
    live = d.sim.control("GET", "/faults")
    assert (spec.get("count") and not live) or any(f["hits"] > 0 for f in live), live
    d.sim.clear_faults()
    call = replaced_once(d, w, timeout=30, settle=SETTLE_S)
    assert call["params"]["HealthStatus"] == "Unhealthy"
    assert call["params"]["InstanceId"] == d.instance_id
    w.check()
    return w


@pytest.mark.parametrize("name,spec", [fault_case(n, IMDS_FAULTS) for n in IMDS_FAULTS])
def test_imds_fault(daemon, name, spec):
    fault_then_sick(daemon, "imds", spec)


@pytest.mark.parametrize("name,spec", [fault_case(n, AWS_FAULTS) for n in AWS_FAULTS])
def test_aws_fault(daemon, name, spec):
    fault_then_sick(daemon, "aws", spec)


@full
@pytest.mark.parametrize("kind", ["garbage", "truncate", "drop"])
def test_imds_fault_from_start_reports_and_waits(daemon, kind):
    d = daemon
    d.sim.fault("imds", kind=kind)
    d.start(checks=[d.flag_check("web")])
    d.set_failing("web")
    d.wait_ready()
    w = Watch(d)
    st = w.run(5, each=nothing_replaced(d))
    assert st["instance"]["known"] is False
    d.sim.clear_faults()
    replaced_once(d, w, timeout=40)
    w.check()


@full
def test_imds_token_expires_mid_run(daemon):
    d = daemon
    # A 2 s token: drover must renew it on time, and recover when tokens vanish early.
    w = started(d, imds={"token_ttl": 2})
    for _ in range(3):
        d.sim.control("POST", "/imds/expire-tokens", {})
        w.run(1.5, each=nothing_replaced(d))
    calls = d.sim.imds_calls()
    gets = [c for c in calls if c.get("method", "GET") == "GET"]
    assert gets, "drover stopped asking IMDS"
    d.set_failing("web")
    replaced_once(d, w)
    # No token storm: a token per TTL (and per forced expiry), not one per request.
    puts = [c for c in d.sim.imds_calls() if c.get("method") == "PUT"]
    assert len(puts) <= 2 + int(time.monotonic() - w.begin) // 1 + 3, len(puts)
    w.check()


@pytest.mark.parametrize("skew", [pytest.param(-900, id="behind", marks=full),
                                  pytest.param(900, id="ahead")])
def test_aws_clock_skew(daemon, skew):
    d = daemon
    d.sim.control("POST", "/clock", {"skew": skew})
    w = started(d)
    w.run(HEALTHY_S, each=nothing_replaced(d))
    d.set_failing("web")
    replaced_once(d, w, timeout=30)
    assert abs(w.sample()["aws"]["clock_offset_s"] - skew) <= 5
    w.check()


@pytest.mark.parametrize("reissue", [pytest.param(True, id="reissued", marks=full),
                                     pytest.param(False, id="stale-until-rotated")])
def test_aws_credentials_expire(daemon, reissue):
    d = daemon
    w = started(d)
    d.sim.control("POST", "/credentials/expire", {"reissue": reissue})
    w.run(HEALTHY_S, each=nothing_replaced(d))
    d.set_failing("web")
    w.until(lambda st: st["checks"][0]["state"] == "failed", 10, "web failed")
    if not reissue:
        # IMDS keeps serving the expired set: no valid credentials, nothing can be asked.
        w.run(SICK_S, each=nothing_replaced(d))
        d.sim.control("POST", "/credentials/rotate", {"instance": d.instance_id})
    replaced_once(d, w, timeout=40)
    w.check()


@full
def test_aws_credentials_rotated(daemon):
    d = daemon
    w = started(d)
    for _ in range(3):
        d.sim.control("POST", "/credentials/rotate", {"instance": d.instance_id, "ttl": 4})
        w.run(1.5, each=nothing_replaced(d))
    d.set_failing("web")
    replaced_once(d, w)
    rejected = [c for c in d.sim.calls() if c["status"] == 403]
    assert len(rejected) <= 2, rejected
    w.check()


# ---- plugin pathologies -------------------------------------------------------------

def state_of(st, name):
    return next(c for c in st["checks"] if c["name"] == name)


PLUGINS = {
    # name: (script, check keys, status the check must settle on)
    "never-exits": ("exec sleep 1000\n", {"timeout": 1}, "CRITICAL"),
    "ignores-sigterm": ("trap '' TERM\nwhile :; do sleep 1; done\n", {"timeout": 1},
                        "CRITICAL"),
    "leaves-children": ('sleep 1000 &\necho "$! $$" >> {pids}\necho OK\nexit 0\n', {}, "OK"),
    "detached-children": ('setsid sleep 1000 &\necho "$! $$" >> {pids}\necho OK\nexit 0\n',
                          {}, "OK"),
    "floods-forever": ("exec yes flood\n", {"timeout": 1}, "CRITICAL"),
    "floods-then-ok": ("head -c 5000000 /dev/zero | tr '\\0' x\necho\necho OK\nexit 0\n",
                       {}, "OK"),
    "killed-by-signal": ("kill -SEGV $$\n", {}, "UNKNOWN"),
    "exit-code-42": ("echo weird\nexit 42\n", {}, "UNKNOWN"),
    "binary-output": ("head -c 4096 /dev/urandom\nexit 0\n", {}, "OK"),
    "closes-stdout-and-sleeps": ("exec >&- 2>&-\nsleep 1000\n", {"timeout": 1}, "CRITICAL"),
}
QUICK_PLUGINS = {"never-exits", "leaves-children", "floods-forever", "killed-by-signal"}


@pytest.mark.parametrize("name", [pytest.param(n, marks=() if n in QUICK_PLUGINS else (full,))
                                  for n in PLUGINS])
def test_plugin_pathology(daemon, name):
    d = daemon
    script, extra, want = PLUGINS[name]
    script = script.replace("{pids}", os.path.join(d.dir, f"{name}.pids"))
    path = write_plugin(d, name, script)
    # A dependency: whatever the plugin does, the instance is never replaced for it.
    d.start(checks=[plugin_check(d, name, path, role="dependency", kill_grace=0.3, **extra),
                    d.flag_check("web")])
    d.wait_ready()
    w = Watch(d)
    w.until(lambda st: state_of(st, name)["status_name"] == want and
            state_of(st, name)["last_run_s_ago"] is not None, 15, f"{name} reported {want}")
    st = w.run(4, each=nothing_replaced(d))
    c = state_of(st, name)
    assert c["status_name"] == want, c
    assert len(c["output"]) <= 65536
    if want == "UNKNOWN":
        assert "broken plugin" in c["output"].lower() or c["output"], c
    assert state_of(st, "web")["state"] == "passing"
    assert st["heal"]["verdict"] in ("healthy", "degraded")
    if name == "leaves-children":
        # Drover kills the plugin's process group once the plugin exits: the sleeps of
        # earlier runs are gone (at most the current run's is alive).
        assert len(d.plugin_pids()) >= 4
        assert len(d.live_processes()) <= 2, d.live_processes()
    w.check()
    if name == "detached-children":
        # setsid() leaves drover's reach by design (DESIGN.md's guarantee is the process
        # group); the test cleans up what escaped so the teardown's check stays strict.
        for pid in d.live_processes():
            os.kill(pid, signal.SIGKILL)


@full
def test_plugin_timeout_is_critical_and_replaces_once(daemon):
    d = daemon
    path = write_plugin(d, "hang", "exec sleep 1000\n")
    d.start(checks=[plugin_check(d, "hang", path, timeout=0.5, kill_grace=0.2)])
    d.wait_ready()
    w = Watch(d)
    replaced_once(d, w)
    assert state_of(w.sample(), "hang")["status_name"] == "CRITICAL"
    w.check()


@full
def test_plugin_replaced_while_running(daemon):
    d = daemon
    path = write_plugin(d, "swap", "sleep 1\necho OK\nexit 0\n")
    d.start(checks=[plugin_check(d, "swap", path, role="dependency")])
    d.wait_ready()
    w = Watch(d)
    w.until(lambda st: state_of(st, "swap")["running"], 10, "the plugin running")
    write_plugin(d, "swap", "echo now critical\nexit 2\n")
    w.until(lambda st: state_of(st, "swap")["status_name"] == "CRITICAL", 10, "the new plugin")
    w.run(2, each=nothing_replaced(d))
    w.check()


def test_plugin_deleted_or_not_executable_while_running(daemon):
    d = daemon
    gone = write_plugin(d, "gone", "sleep 1\necho OK\nexit 0\n")
    noexec = write_plugin(d, "noexec", "sleep 1\necho OK\nexit 0\n")
    d.start(checks=[plugin_check(d, "gone", gone), plugin_check(d, "noexec", noexec)])
    d.wait_ready()
    w = Watch(d)
    w.until(lambda st: state_of(st, "gone")["running"] and state_of(st, "noexec")["running"],
            10, "both plugins running")
    os.unlink(gone)
    os.chmod(noexec, 0o644)
    w.until(lambda st: state_of(st, "gone")["status_name"] == "UNKNOWN" and
            state_of(st, "noexec")["status_name"] == "UNKNOWN", 10, "both UNKNOWN")
    # UNKNOWN is not a failure: the liveness checks hold their last state, nothing is done.
    st = w.run(4, each=nothing_replaced(d))
    assert state_of(st, "gone")["state"] == "passing"
    assert st["heal"]["verdict"] == "healthy"
    w.check()


@pytest.mark.parametrize("n", [pytest.param(40, id="40-slow-plugins"),
                               pytest.param(120, id="120-slow-plugins", marks=full)])
def test_many_plugins_beyond_concurrency(daemon, n):
    d = daemon
    path = write_plugin(d, "slow", "sleep 0.5\necho OK\nexit 0\n")
    checks = [plugin_check(d, f"c{i:03d}", path, role="dependency") for i in range(n)]
    d.start(checks=checks, plugins={"concurrency": 4})
    d.wait_ready()
    w = Watch(d)
    first = w.run(2)
    peak = 0

    def each(st):
        nonlocal peak
        peak = max(peak, st["plugins"]["running"])
        assert st["plugins"]["running"] <= 4, st["plugins"]
        assert d.replacements() == []
    w.run(10, every=0.5, each=each)
    assert peak == 4
    st = w.sample()
    assert st["plugins"]["queued"] <= n
    # The queue drains: every check gets its turn (no starvation, no hang).
    w.until(lambda st: all(c["successes"] >= 1 for c in st["checks"]), 30,
            "every check ran")
    assert first["plugins"]["running"] <= 4
    w.check()


def test_hundreds_of_checks(daemon):
    d = daemon
    checks = [d.flag_check(f"svc{i:03d}", interval=5) for i in range(300)]
    checks.append(d.flag_check("web"))
    t0 = time.monotonic()
    d.start(checks=checks, plugins={"concurrency": 8})
    d.wait_ready(timeout=10)
    ready_s = time.monotonic() - t0
    assert ready_s < 5, ready_s
    p = subprocess.run([d.bin, "config-test", "-c", d.conf], capture_output=True, text=True,
                       timeout=30, env=d.env())
    assert p.returncode == 0, p.stderr
    w = Watch(d)
    w.until(lambda st: all(c["successes"] >= 1 for c in st["checks"]), 60,
            "every check ran once")
    assert max(w.status_s) < 1.0, w.status_s
    d.set_failing("web")
    replaced_once(d, w)
    w.check(rss_growth_kib=8192)


# ---- the agent itself --------------------------------------------------------------

def slow_group(daemon_factory, **kw):
    """The sick instance stays visible (Terminating:Wait on a drain hook) across restarts."""
    return daemon_factory(time_scale=1, extra_args=["--lifecycle-hook",
                                                    "drain:terminate:600:CONTINUE"], **kw)


def hook(d, event, name, body):
    os.makedirs(os.path.join(d.hooks_dir, event), mode=0o755, exist_ok=True)
    path = os.path.join(d.hooks_dir, event, name)
    with open(path, "w") as f:
        f.write("#!/bin/sh\n" + body)
    os.chmod(path, 0o755)
    return path


def kill_and_restart(d):
    d.sigkill()
    d.start()
    d.wait_ready()
    return Watch(d)


KILL_STEPS = {
    # step: (how to recognise it, from the status or the side effects)
    "remediation-restart": lambda d: d.systemd.calls("RestartUnit"),
    "remediation-settle": lambda d: d.systemd.calls("RestartUnit") and
    any("unit restarted" in h for h in d.status()["heal"]["history"]),
    # heal's first look ends with DescribeScalingActivities (nothing else asks for it);
    # the jitter (2 s here) follows it.
    "jitter": lambda d: d.calls("DescribeScalingActivities") and d.replacements() == [],
    "unhealthy-hooks": lambda d: os.path.exists(os.path.join(d.dir, "hook-started")),
    "request-sent": lambda d: d.sim.calls("SetInstanceHealth"),
}


@pytest.mark.parametrize("step", [pytest.param(s, marks=() if s in (
    "unhealthy-hooks",) else (full,)) for s in KILL_STEPS])
def test_sigkill_at_each_step_then_restart(daemon_factory, step):
    d = slow_group(daemon_factory)
    started_flag = os.path.join(d.dir, "hook-started")
    runs = os.path.join(d.dir, "hook-runs")
    hook(d, "unhealthy", "10-slow", f'echo run >> {runs}\ntouch {started_flag}\nsleep 2\n')
    check = d.restart_unit_check("web", attempts=1)
    check["remediate"]["settle"] = 3
    w = started(d, checks=[check], policy={"jitter": 2.0})
    d.set_failing("web")
    d.wait_for(lambda: KILL_STEPS[step](d), 30, f"step {step}", interval=0.02)
    d.sigkill()
    if step != "request-sent":
        assert d.replacements() == [], "killed too late to test the step"
    d.start()
    d.wait_ready()
    w = Watch(d)
    replaced_once(d, w, timeout=40, settle=SETTLE_S)
    assert len(d.systemd.calls("RestartUnit")) == 1, d.systemd.calls("RestartUnit")
    # A hook that was running when drover died runs again (hooks are idempotent); one
    # that finished does not.
    with open(runs) as f:
        assert len(f.read().split()) <= 2
    w.check()


@full
@pytest.mark.parametrize("kills", [3, 8])
def test_repeated_sigkill_through_remediation_and_replacement(daemon_factory, kills):
    d = slow_group(daemon_factory)
    check = d.restart_unit_check("web", attempts=2)
    check["remediate"]["settle"] = 1
    d.start(checks=[check], policy={"jitter": 1.0})
    d.wait_ready()
    d.set_failing("web")
    for i in range(kills):
        time.sleep(0.4 + 0.37 * i)
        d.sigkill()
        d.start()
        d.wait_ready()
    w = Watch(d)
    replaced_once(d, w, timeout=40, settle=4)
    assert 1 <= len(d.systemd.calls("RestartUnit")) <= 2
    w.check()


@full
def test_sigkill_during_lifecycle_termination(daemon_factory):
    d = daemon_factory(instances=2, extra_args=["--lifecycle-hook",
                                                "drain:terminate:60:ABANDON"])
    runs = os.path.join(d.dir, "term-runs")
    started_flag = os.path.join(d.dir, "term-started")
    hook(d, "terminate", "10-drain", f"echo run >> {runs}\ntouch {started_flag}\nsleep 3\n")
    hooks = {"timeout": 20, "heartbeat_interval": 1, "poll_interval": 0.5,
             "lifecycle_hook_names": {"terminate": "drain"}}
    d.start(checks=[d.flag_check("web")], hooks=hooks)
    d.wait_ready()
    d.sim.set_desired(1, min=0)  # the oldest (drover's) instance goes
    d.wait_for(lambda: os.path.exists(started_flag), 20, "the terminate hook")
    w = kill_and_restart(d)

    def completes():
        return successful(d, "CompleteLifecycleAction")
    w.until(lambda st: completes(), 30, "CompleteLifecycleAction")
    w.run(3)
    assert len(completes()) == 1, completes()
    assert completes()[0]["params"]["LifecycleActionResult"] == "CONTINUE"
    assert d.replacements() == []
    with open(runs) as f:
        assert len(f.read().split()) == 2  # interrupted, so run again once
    w.check()


# ---- the state directory -----------------------------------------------------------

def mount(*args):
    subprocess.run(["mount", *args], check=True, capture_output=True, timeout=10)


def umount(path):
    subprocess.run(["umount", "-l", path], capture_output=True, timeout=10)


@pytest.mark.parametrize("how", ["read-only", pytest.param("full", marks=full)])
def test_state_directory_unwritable(daemon_factory, how):
    d = slow_group(daemon_factory)
    if how == "read-only":
        mount("--bind", d.state_dir, d.state_dir)
        mount("-o", "remount,ro,bind", d.state_dir)
    else:
        mount("-t", "tmpfs", "-o", "size=16k,mode=0755", "tmpfs", d.state_dir)
        subprocess.run(["dd", "if=/dev/zero", f"of={d.state_dir}/filler", "bs=4k",
                        "count=64"], capture_output=True, timeout=10)
    try:
        check = d.restart_unit_check("web", attempts=1)
        w = started(d, checks=[check])
        w.run(2, each=nothing_replaced(d))
        d.set_failing("web")
        # It cannot remember, but it still acts once, and says so.
        replaced_once(d, w, timeout=30, settle=SETTLE_S)
        assert "cannot save state" in d.log()
        assert len(d.systemd.calls("RestartUnit")) == 1
        w.check()
        # Restarted with the directory still unwritable: the group is the truth, so the
        # request is not repeated.
        w = kill_and_restart(d)
        w.run(4)
        assert len(d.replacements()) == 1, d.replacements()
        w.check()
    finally:
        if d.proc and d.proc.poll() is None:
            d.stop()
        umount(d.state_dir)


# ---- reload storms -----------------------------------------------------------------

@pytest.mark.parametrize("n", [pytest.param(40, id="40-reloads"),
                               pytest.param(300, id="300-reloads", marks=full)])
def test_reload_storm(daemon, n):
    d = daemon
    checks = [d.flag_check("web"), d.flag_check("api")]
    w = started(d, checks=checks)
    w.until(lambda st: state_of(st, "api")["successes"] >= 1, 10, "api ran")
    for i in range(n):
        if i % 2:
            d.write_broken_config()
        else:
            d.write_config(checks=checks if i % 4 else checks + [d.flag_check(f"x{i}")])
        d.signal(signal.SIGHUP)
        time.sleep(0.02)
        if i % 10 == 0:
            w.sample()
    d.write_config(checks=checks)
    d.reload()
    st = w.until(lambda st: st["config"]["reload_error"] is None and
                 {c["name"] for c in st["checks"]} == {"web", "api"} and st, 15,
                 "the last, good config in force")
    assert d.notify.seen("RELOADING=1"), "no reload was seen"
    assert "reload failed" in d.log() or "no_such_key" in d.log()
    assert state_of(st, "web")["state"] == "passing"
    w.run(2, each=nothing_replaced(d))
    d.set_failing("web")
    replaced_once(d, w)
    w.check()
