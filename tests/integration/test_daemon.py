"""`drover run` end to end against tests/sim, the stand-in systemd and a NOTIFY_SOCKET
listener (daemonfix.py): healthy steady state, remediation then exactly one replacement,
every reason not to act (and exactly one replacement once it is gone), reload, stop,
status under load, hooks, and the unit file.
"""
import glob
import os
import re
import shutil
import subprocess
import time


from conftest import TOP_SRCDIR, require_tool

INTERVAL = 1
FALL = 2
JITTER = 0.2
# Beyond fall x interval + jitter: the first run's random offset (< interval), three
# Describe calls twice, the call itself, and a loaded CI machine.
BOUND = 4.0


def replaced_once(d, timeout=20, settle=2.0):
    """Waits for a replacement request, then proves no second one follows."""
    d.wait_for(d.replacements, timeout, "a replacement request")
    time.sleep(settle)  # two confirm intervals: a repeat would have happened by now
    calls = d.replacements()
    assert len(calls) == 1, calls
    return calls[0]


def held(d, reason, seconds=1.5, timeout=15):
    """The instance is sick, drover holds back for `reason`, and no request goes out."""
    d.wait_for(lambda: d.decision()["reason"] == reason, timeout, f"decision {reason}")
    assert d.status()["heal"]["verdict"] == "unhealthy"
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert d.replacements() == [], d.log()[-2000:]
        assert d.decision()["reason"] == reason
        time.sleep(0.3)


def aws_cli(d, *args):
    env = dict(d.sim.aws_env(), PATH="/usr/bin:/bin", HOME=d.dir)
    p = subprocess.run([require_tool("/usr/bin/aws"), "--endpoint-url", d.sim.aws_url,
                        "autoscaling", *args], env=env, capture_output=True, text=True,
                       timeout=60)
    assert p.returncode == 0, p.stderr
    return p.stdout


def datums(call):
    """PutMetricData's MetricData members as {name, dims: {Name: Value}, value}."""
    members = {}
    for k, v in call["params"].items():
        m = re.match(r"MetricData\.member\.(\d+)\.(.*)$", k)
        if m:
            members.setdefault(int(m.group(1)), {})[m.group(2)] = v
    out = []
    for f in members.values():
        dims = {f[k]: f[k[:-4] + "Value"] for k in f
                if re.match(r"Dimensions\.member\.\d+\.Name$", k)}
        out.append({"name": f.get("MetricName"), "dims": dims, "value": f.get("Value")})
    return out


def metric_names(call):
    return {x["name"] for x in datums(call)}


def uptime():
    with open("/proc/uptime") as f:
        return float(f.read().split()[0])


# ---- steady state ----------------------------------------------------------------------

def test_healthy_steady_state(daemon):
    d = daemon
    d.start(checks=[d.flag_check("web")], metrics={"high_resolution": True})
    d.wait_ready()
    d.wait_for(lambda: any("CheckStatus" in metric_names(c) for c in d.calls("PutMetricData")),
               10, "CheckStatus in PutMetricData")
    d.wait_for(lambda: len(d.notify.seen("WATCHDOG=1")) >= 3, 10, "watchdog pings")
    puts = d.calls("PutMetricData")
    assert all(c["status"] == 200 and c["verified"] for c in puts), puts
    assert all(c["params"]["Namespace"] == "Drover" for c in puts)
    all_datums = [x for c in puts for x in datums(c)]
    status = [x for x in all_datums if x["name"] == "CheckStatus"]
    # Every one carries the group: none goes out as a separate, dimension-less metric.
    assert status and all(x["dims"] == {"AutoScalingGroupName": "drover-asg", "Check": "web"}
                          for x in status), status
    assert all(x["value"] in ("0", "0.0", None) for x in status), status
    assert any(x["name"] == "CheckDuration" for x in all_datums)
    assert any(x["name"] == "value" and x["dims"]["Check"] == "web" for x in all_datums), \
        {(x["name"], tuple(sorted(x["dims"].items()))) for x in all_datums}
    time.sleep(2)
    st = d.status()
    assert st["heal"]["verdict"] == "healthy"
    assert st["checks"][0]["state"] == "passing"
    assert st["instance"]["instance_id"] == d.instance_id
    assert st["instance"]["image_id"].startswith("ami-")
    assert d.calls("SetInstanceHealth") == [] and d.replacements() == []
    assert d.systemd.calls("RestartUnit") == []
    assert "STATUS=1/1 checks passing; InService; healthy" in d.notify.seen("STATUS=")
    assert "drover 0.1.0 on " + d.instance_id in d.log()
    assert d.stop() == 0
    assert d.notify.seen("STOPPING=1")


def test_stop_sends_the_minute_being_collected(daemon):
    d = daemon
    # Standard resolution: the current minute would otherwise wait for its end.
    d.start(checks=[d.flag_check("web")], metrics={"interval": 60})
    d.wait_ready()
    d.wait_for(lambda: d.check("web")["successes"] >= 2, 10, "two results")

    def sent():
        return [x for c in d.calls("PutMetricData") for x in datums(c)
                if x["name"] == "CheckStatus"]
    before = len(sent())
    t0 = time.monotonic()
    assert d.stop() == 0
    assert time.monotonic() - t0 < 3
    assert len(sent()) > before
    assert "sending buffered metrics first" in d.log()


# ---- remediation, then exactly one replacement ----------------------------------------

def test_remediation_first_then_one_replacement(daemon):
    d = daemon
    d.start(checks=[d.restart_unit_check("web")])
    d.wait_ready()
    d.wait_for(lambda: d.check("web")["state"] == "passing", 10, "web passing")
    t0 = time.monotonic()
    d.set_failing("web")
    d.wait_for(lambda: d.systemd.calls("RestartUnit"), 10, "RestartUnit")
    assert [c["args"] for c in d.systemd.calls("RestartUnit")] == [["nginx.service", "replace"]]
    assert d.replacements() == []  # remediation first
    d.wait_for(d.replacements, 20, "replacement")
    elapsed = time.monotonic() - t0
    settle = 1  # restart_unit_check's remediate.settle
    assert elapsed < FALL * INTERVAL + settle + JITTER + BOUND, elapsed
    call = replaced_once(d)
    assert call["action"] == "SetInstanceHealth"
    assert call["params"]["HealthStatus"] == "Unhealthy"
    assert call["params"]["ShouldRespectGracePeriod"] == "false"
    # The restart did not help and its one attempt is spent: no second restart.
    assert len(d.systemd.calls("RestartUnit")) == 1
    hist = d.status()["heal"]["history"]
    assert any("unit restarted" in h for h in hist) and any("requested" in h for h in hist)


def test_failed_restart_job_counts_as_failed_remediation(daemon):
    d = daemon
    d.systemd.set_result("nginx.service", "failed")
    d.start(checks=[d.restart_unit_check("web")])
    d.wait_ready()
    d.set_failing("web")
    replaced_once(d)
    assert [c["args"] for c in d.systemd.calls("RestartUnit")] == [["nginx.service", "replace"]]
    assert any("restart failed" in h for h in d.status()["heal"]["history"])


def slow_group(daemon_factory):
    """A group that keeps a sick instance visible (Terminating:Wait on a drain hook)
    while drover is killed and comes back."""
    return daemon_factory(time_scale=1,
                          extra_args=["--lifecycle-hook", "drain:terminate:600:CONTINUE"])


def test_exactly_once_across_sigkill_after_the_request(daemon_factory):
    d = slow_group(daemon_factory)
    d.start(checks=[d.restart_unit_check("web")])
    d.wait_ready()
    d.set_failing("web")
    # Killed once the request is made and remembered, before the group confirmed it.
    d.wait_for(lambda: "replacement" in d.status()["heal"], 20, "replacement requested",
               interval=0.05)
    d.sigkill()
    assert len(d.calls("SetInstanceHealth")) == 1
    d.start()
    d.wait_ready()
    d.wait_for(lambda: d.status()["heal"].get("replacement", {}).get("confirmed"), 15,
               "the group's answer confirms the remembered request")
    # The group's answer may come before the check has failed again since the restart.
    d.wait_for(lambda: d.decision()["reason"] == "already-requested", 10, "already-requested")
    time.sleep(3)
    assert len(d.calls("SetInstanceHealth")) == 1
    # Nor was the remediation repeated: its attempt was persisted.
    assert len(d.systemd.calls("RestartUnit")) == 1


def test_exactly_once_when_killed_before_remembering(daemon_factory):
    d = slow_group(daemon_factory)
    d.start(checks=[d.flag_check("web")])
    d.wait_ready()
    d.set_failing("web")
    # Killed the moment AWS sees the call: drover may not have saved it. The group is the
    # truth: it shows the instance Unhealthy, so nothing is asked again.
    d.wait_for(lambda: d.sim.calls("SetInstanceHealth"), 20, "SetInstanceHealth",
               interval=0.02)
    d.sigkill()
    d.start()
    d.wait_ready()
    # The group shows us Unhealthy (or IMDS already says Terminated: then drover does not
    # even ask).
    d.wait_for(lambda: d.decision()["reason"] in ("group-replacing", "already-requested",
                                                  "not-in-service"), 15, "the group's answer")
    time.sleep(3)
    assert len(d.calls("SetInstanceHealth")) == 1


# ---- every reason not to act, then exactly one replacement ----------------------------

def test_grace_period(daemon):
    d = daemon
    d.start(checks=[d.flag_check("web")], policy={"grace_period": int(uptime()) + 600})
    d.wait_ready()
    d.set_failing("web")
    held(d, "grace-period")
    assert d.status()["grace_left_s"] > 500
    assert any("grace" in s for s in d.notify.seen("STATUS="))
    d.write_config(policy={"grace_period": 0})
    d.reload()
    replaced_once(d)


def test_dependency_check_is_never_a_reason(daemon):
    d = daemon
    d.start(checks=[d.flag_check("db", role="dependency")])
    d.wait_ready()
    d.set_failing("db")
    d.wait_for(lambda: d.status()["heal"]["verdict"] == "degraded", 10, "degraded")
    time.sleep(3)
    assert d.replacements() == []
    assert d.calls("DescribeScalingActivities") == []  # not even a look at the group
    d.write_config(checks=[d.flag_check("db", role="liveness")])
    d.reload()
    replaced_once(d)


def test_broken_plugin_is_unknown_not_a_failure(daemon):
    d = daemon
    d.start(checks=[d.flag_check("web")])
    d.wait_ready()
    d.wait_for(lambda: d.check("web")["state"] == "passing", 10, "web passing")
    d.set_failing("web", 3)
    d.wait_for(lambda: d.check("web")["status_name"] == "UNKNOWN", 10, "UNKNOWN")
    time.sleep(FALL * INTERVAL + 2)
    assert d.check("web")["state"] == "passing"
    assert d.status()["heal"]["verdict"] == "healthy"
    assert d.replacements() == []
    d.set_failing("web", 2)
    replaced_once(d)


def test_imds_outage_reports_and_waits(daemon):
    d = daemon
    d.sim.fault("imds", kind="status", status=503)
    d.start(checks=[d.flag_check("web")])
    d.set_failing("web")
    d.wait_ready()  # degraded, but up
    d.wait_for(lambda: d.check("web")["state"] == "failed", 10, "web failed")
    st = d.status()
    assert st["instance"]["known"] is False
    assert "IMDS unreachable" in st["summary"]
    assert any("IMDS unreachable" in s for s in d.notify.seen("STATUS="))
    time.sleep(2)
    assert d.sim.calls("SetInstanceHealth") == []
    d.sim.clear_faults()
    replaced_once(d, timeout=30)


def test_aws_outage_reports_and_waits(daemon):
    d = daemon
    d.start(checks=[d.flag_check("web")])
    d.wait_ready()
    d.wait_for(lambda: d.check("web")["state"] == "passing", 10, "web passing")
    d.sim.fault("aws", kind="status", status=503)
    d.set_failing("web")
    d.wait_for(lambda: d.check("web")["state"] == "failed", 10, "web failed")
    held(d, "no-fresh-answer")
    assert d.status()["heal"]["group"]["answered"] is False
    d.sim.clear_faults()
    replaced_once(d, timeout=30)


def test_fleet_over_budget(daemon_factory):
    # A third instance is launching (held in Pending:Wait by a launch hook): with
    # max_unhealthy = 1, replacing this one too would leave two out of service.
    d = daemon_factory(instances=2, max_size=3,
                       extra_args=["--lifecycle-hook", "boot:launch:600:CONTINUE"])
    d.sim.set_desired(3)
    new = d.sim.wait_for(lambda st: [i["id"] for i in st["instances"]
                                     if i["state"] == "Pending:Wait"], what="a launch")[0]
    d.start(checks=[d.flag_check("web")], policy={"max_unhealthy": 1})
    d.wait_ready()
    d.set_failing("web")
    held(d, "fleet-guard")
    assert "2 of 3" in d.decision()["message"]
    aws_cli(d, "complete-lifecycle-action", "--lifecycle-hook-name", "boot",
            "--auto-scaling-group-name", d.sim.asg_name, "--lifecycle-action-result",
            "CONTINUE", "--instance-id", new)
    replaced_once(d)


def test_storm_brake(daemon_factory):
    d = daemon_factory(instances=3)
    other = [i for i in d.sim.instance_ids if i != d.instance_id][0]
    d.sim.set_instance(other, health="Unhealthy")
    d.sim.wait_for(lambda st: len([i for i in st["instances"] if i["in_group"] and
                                   i["state"] == "InService"]) == 3 and
                   any(i["id"] == other and i["state"] == "Terminated"
                       for i in st["instances"]), 15, what="the group replaced the other")
    d.start(checks=[d.flag_check("web")], policy={"max_replacements_per_hour": 1})
    d.wait_ready()
    d.set_failing("web")
    held(d, "storm-brake")
    # (the group view is cleared while a look is in flight: ask until it shows)
    d.wait_for(lambda: d.status()["heal"]["group"].get("health_replacements_last_hour") == 1,
               5, "the health replacement in status")
    d.write_config(policy={"max_replacements_per_hour": 2})
    d.reload()
    replaced_once(d)


def test_operators_brake_suspended_process(daemon):
    d = daemon
    aws_cli(d, "suspend-processes", "--auto-scaling-group-name", d.sim.asg_name,
            "--scaling-processes", "ReplaceUnhealthy")
    d.start(checks=[d.flag_check("web")])
    d.wait_ready()
    d.set_failing("web")
    held(d, "process-suspended")
    assert d.status()["heal"]["group"]["suspended_processes"] == ["ReplaceUnhealthy"]
    aws_cli(d, "resume-processes", "--auto-scaling-group-name", d.sim.asg_name,
            "--scaling-processes", "ReplaceUnhealthy")
    replaced_once(d)


def test_operators_brake_paused_tag(daemon):
    d = daemon
    tag = (f"ResourceId={d.sim.asg_name},ResourceType=auto-scaling-group,"
           "Key=drover:paused,Value=true,PropagateAtLaunch=false")
    aws_cli(d, "create-or-update-tags", "--tags", tag)
    d.start(checks=[d.flag_check("web")])
    d.wait_ready()
    d.set_failing("web")
    held(d, "paused-tag")
    aws_cli(d, "delete-tags", "--tags",
            f"ResourceId={d.sim.asg_name},ResourceType=auto-scaling-group,Key=drover:paused")
    replaced_once(d)


def test_dry_run(daemon):
    d = daemon
    d.start(checks=[d.flag_check("web")], policy={"dry_run": True})
    d.wait_ready()
    d.set_failing("web")
    held(d, "dry-run")
    assert "set-unhealthy" in d.decision()["message"] or "dry" in d.decision()["message"]
    d.write_config(policy={"dry_run": False})
    d.reload()
    replaced_once(d)


# ---- hooks ----------------------------------------------------------------------------

def write_hook(d, name, body):
    path = os.path.join(d.hooks_dir, "unhealthy", name)
    with open(path, "w") as f:
        f.write("#!/bin/sh\n" + body)
    os.chmod(path, 0o755)


def test_unhealthy_hooks_run_before_the_request(daemon):
    d = daemon
    started = os.path.join(d.dir, "hooks-started")
    write_hook(d, "05-first", f"touch {started}\nsleep 1\n")
    out = d.add_hook("10-record")
    # A last hook that takes a second: the request must wait for it too.
    write_hook(d, "20-slow", "sleep 1\n")
    d.start(checks=[d.flag_check("web")])
    d.wait_ready()
    d.set_failing("web")
    d.wait_for(lambda: os.path.exists(started), 20, "the hooks started")
    # A reload while hooks run must not pull their settings from under them.
    d.write_config(policy={"jitter": 0.3})
    d.reload()
    d.wait_for(lambda: os.path.exists(out), 10, "the second hook ran")
    assert d.replacements() == []
    replaced_once(d)
    with open(out) as f:
        lines = f.read().splitlines()
    env = dict(line.split("=", 1) for line in lines if "=" in line)
    assert env["DROVER_EVENT"] == "unhealthy"
    assert env["DROVER_INSTANCE_ID"] == d.instance_id
    assert env["DROVER_ASG"] == d.sim.asg_name
    assert env["DROVER_REGION"] == d.sim.region
    assert env["DROVER_CHECKS"] == "web"
    assert any("hooks.d/unhealthy: 3 ran, 0 failed" in h for h in d.status()["heal"]["history"])


# ---- reload, stop, status under load -------------------------------------------------

def test_reload_with_broken_config_keeps_the_old_one(daemon):
    d = daemon
    d.start(checks=[d.flag_check("web"), d.flag_check("api")])
    d.wait_ready()
    d.set_failing("api")
    d.wait_for(lambda: d.check("web")["successes"] >= 2 and d.check("api")["state"] == "failed",
               10, "web passing, api failed")
    before = {c["name"]: c for c in d.status()["checks"]}
    d.write_broken_config()
    d.reload()
    d.wait_for(lambda: d.status()["config"]["reload_error"], 5, "reload error shown")
    assert any("reload failed" in s for s in d.notify.seen("STATUS="))
    assert re.search(r"drover\.conf:\d+: .*no_such_key", d.log()), d.log()
    # The status names the cause as the log does, FILE:LINE and all.
    why = d.status()["config"]["reload_error"]
    assert re.fullmatch(r".*/drover\.conf:\d+: .*no_such_key.*", why), why
    p = subprocess.run([d.bin, "status"], capture_output=True, text=True, env=d.env())
    assert re.search(r"^config +.*reload FAILED.*drover\.conf:\d+: .*no_such_key", p.stdout,
                     re.M), p.stdout
    time.sleep(1.5)
    after = {c["name"]: c for c in d.status()["checks"]}
    assert after["web"]["state"] == "passing" and after["api"]["state"] == "failed"
    assert after["web"]["successes"] > before["web"]["successes"]  # kept running, not reset
    # A good config clears the error; unchanged checks keep their state and counts.
    d.write_config(checks=d.checks + [d.flag_check("extra")])
    d.reload()
    d.wait_for(lambda: d.status()["config"]["reload_error"] is None, 5, "reload error cleared")
    st = {c["name"]: c for c in d.status()["checks"]}
    assert set(st) == {"web", "api", "extra"}
    assert st["api"]["state"] == "failed" and st["web"]["successes"] >= after["web"]["successes"]
    msgs = d.notify.seen()
    assert msgs.count("RELOADING=1") == 2 and msgs.count("READY=1") == 3


def test_sigterm_while_plugins_run_leaves_no_process(daemon):
    d = daemon
    d.start(checks=[d.flag_check("web"), d.flag_check("api")])
    d.set_slow("web", 30)
    d.set_slow("api", 30)
    d.wait_ready()
    d.wait_for(lambda: len(d.plugin_pids()) >= 4, 10, "both plugins sleeping")
    assert d.live_processes()
    t0 = time.monotonic()
    assert d.stop() == 0
    assert time.monotonic() - t0 < 5
    d.assert_no_process_left()
    assert d.notify.seen("STOPPING=1")


def test_status_answers_while_plugin_and_aws_are_slow(daemon):
    d = daemon
    d.sim.fault("aws", kind="latency", seconds=4)
    d.start(checks=[d.flag_check("web")], aws={"timeout_ms": 10000},
            metrics={"high_resolution": True})
    d.set_slow("web", 5)
    d.wait_ready()
    d.wait_for(lambda: d.plugin_pids(), 10, "the slow plugin")
    time.sleep(1.5)  # the group probe and a metrics flush are now waiting on the sim
    for _ in range(3):
        t0 = time.monotonic()
        st = d.status()
        assert time.monotonic() - t0 < 1.0
        assert st["checks"][0]["running"] is True and st["plugins"]["running"] == 1
        time.sleep(0.3)


# ---- the unit file --------------------------------------------------------------------

def test_systemd_analyze_verify_unit(tmp_path, drover_bin):
    analyze = require_tool("/usr/bin/systemd-analyze")
    built = os.path.join(os.path.dirname(drover_bin), "units", "drover.service")
    if not os.path.exists(built):
        subprocess.run(["make", "-C", os.path.dirname(drover_bin), "units/drover.service"],
                       check=True, capture_output=True)
    with open(built) as f:
        text = f.read()
    assert "Type=notify" in text and "WatchdogSec=" in text
    text = re.sub(r"^(Exec\w+=)\S*drover\b", lambda m: m.group(1) + drover_bin, text, flags=re.M)
    unit = tmp_path / "drover.service"
    unit.write_text(text)
    # Documentation=man:... must resolve: give man the pages from the source tree.
    for page in glob.glob(os.path.join(TOP_SRCDIR, "agent", "man", "*.[0-9]")):
        section = page.rsplit(".", 1)[1]
        (tmp_path / "man" / f"man{section}").mkdir(parents=True, exist_ok=True)
        shutil.copy(page, tmp_path / "man" / f"man{section}")
    p = subprocess.run([analyze, "verify", str(unit)], capture_output=True, text=True,
                       timeout=60, env={"PATH": "/usr/bin:/bin", "SYSTEMD_LOG_LEVEL": "warning",
                                        "MANPATH": str(tmp_path / "man")})
    out = [line for line in (p.stderr + p.stdout).splitlines() if "drover" in line]
    if not shutil.which("man", path="/usr/bin:/bin"):
        # Without man-db, verify cannot resolve Documentation=; the rest still counts.
        out = [line for line in out if "Command 'man " not in line]
    assert not out and (p.returncode == 0 or not shutil.which("man", path="/usr/bin:/bin")), \
        "\n".join(out)
