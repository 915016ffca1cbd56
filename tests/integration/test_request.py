"""The replacement request's life end to end (heal/request.c), against tests/sim.

Each story is one the healing-core issue found broken: a confirmed request that never
ended, a permanent error that re-ran hooks on every attempt, throttling retried at once,
lockstep re-looks while held back, and Describe calls made by a healthy instance.
"""
import os
import time

from test_daemon import aws_cli, datums
from test_lifecycle import add_hook, hooks_conf, runs, scale_in

# Fast clocks for the request's own timers: confirm_interval is the first re-look, the
# hold cap bounds every backoff, so a test sees several looks in seconds.
FAST = {"jitter": 0.2, "confirm_interval": 1, "hold_backoff_max": 4}


def unhealthy_calls(d):
    return [c for c in d.calls("SetInstanceHealth")
            if c["params"].get("HealthStatus") == "Unhealthy"]


def asg_calls(d):
    return [c for c in d.sim.calls() if c.get("service") == "autoscaling"]


def request(d):
    return d.status()["heal"]["request"]


def test_set_healthy_again_acts_on_the_next_failure(daemon_factory):
    # The group waits 20 model s (2 s) before replacing an Unhealthy instance: the window
    # in which the operator suspends ReplaceUnhealthy.
    d = daemon_factory(extra_args=["--replace-delay", "20"])
    hook = add_hook(d, "unhealthy", "10-drain")
    d.start(checks=[d.flag_check("web")], policy=FAST)
    d.wait_ready()
    d.set_failing("web")
    d.wait_for(lambda: unhealthy_calls(d), 20, "the first request")
    aws_cli(d, "suspend-processes", "--auto-scaling-group-name", "drover-asg",
            "--scaling-processes", "ReplaceUnhealthy")
    d.wait_for(lambda: request(d)["phase"] == "confirmed", 15, "the group shows the request")
    # The operator repairs the instance and sets it Healthy, then resumes the process.
    d.set_failing("web", code=0)
    d.wait_for(lambda: d.check("web")["state"] == "passing", 10, "web passing")
    aws_cli(d, "set-instance-health", "--instance-id", d.instance_id, "--health-status",
            "Healthy")
    aws_cli(d, "resume-processes", "--auto-scaling-group-name", "drover-asg")
    d.wait_for(lambda: request(d)["phase"] == "idle", 15, "the request ends")
    assert "replacement request ended" in d.log()
    assert len(unhealthy_calls(d)) == 1 and runs(hook) == 1
    # Broken again: a new decision, its hooks, its request.
    d.set_failing("web")
    d.wait_for(lambda: len(unhealthy_calls(d)) == 2, 20, "the second request")
    assert runs(hook) == 2
    assert request(d)["decision"] == 2


def test_access_denied_one_hook_run_one_error_then_acts(daemon_factory):
    d = daemon_factory()
    hook = add_hook(d, "unhealthy", "10-drain")
    d.sim.fault("aws", path="SetInstanceHealth", kind="status", status=403, code="AccessDenied",
                message="User is not authorized to perform: autoscaling:SetInstanceHealth")
    d.start(checks=[d.flag_check("web")], policy=FAST)
    d.wait_ready()
    d.set_failing("web")
    # Permanent: retried from 5 x confirm_interval, slowly; three attempts take a while.
    d.wait_for(lambda: len(d.calls("SetInstanceHealth")) >= 3, 45, "three attempts",
               interval=0.5)
    assert all(c["error"] == "AccessDenied" for c in d.calls("SetInstanceHealth"))
    assert runs(hook) == 1, "hooks.d/unhealthy/ runs once per decision"
    lines = [x for x in d.log().splitlines() if "AccessDenied" in x]
    assert len(lines) == 1, lines
    assert lines[0].startswith("<3>") and "permanent" in lines[0]
    st = request(d)
    assert st["phase"] in ("retry", "looking", "jitter", "second-look", "calling")
    assert st["error_class"] == "permanent" and "AccessDenied" in st["error"]
    # The permission is granted: the next attempt goes through, without the hooks again.
    d.sim.clear_faults()
    d.wait_for(lambda: unhealthy_calls(d) and unhealthy_calls(d)[-1]["status"] == 200, 45,
               "a successful request", interval=0.5)
    assert runs(hook) == 1


def test_throttling_backs_off_and_then_requests(daemon):
    d = daemon
    d.sim.fault("aws", path="SetInstanceHealth", kind="throttle", count=3)
    d.start(checks=[d.flag_check("web")], policy=FAST)
    d.wait_ready()
    d.set_failing("web")
    d.wait_for(lambda: any(c["status"] == 200 for c in d.calls("SetInstanceHealth")), 60,
               "the request after the throttling", interval=0.5)
    calls = d.calls("SetInstanceHealth")
    assert [c["error"] for c in calls] == ["Throttling"] * 3 + [None], calls
    # Not at once: each retry waited at least a second (and took a fresh look).
    times = [c["time"] for c in calls]
    assert all(b - a >= 1.0 for a, b in zip(times, times[1:])), times
    warned = [x for x in d.log().splitlines() if "Throttling" in x]
    assert len(warned) == 1 and warned[0].startswith("<4>"), warned


def test_fleet_guard_looks_back_off(daemon):
    d = daemon
    # Budget 0: this instance alone is over it. Held for 30 s with confirm_interval 1 and a
    # 4 s cap: looks at a random 1..4 s apart, not every second as before.
    d.start(checks=[d.flag_check("web")], policy=dict(FAST, max_unhealthy=0))
    d.wait_ready()
    d.set_failing("web")
    d.wait_for(lambda: d.decision()["reason"] == "fleet-guard", 15, "held by the fleet guard")
    start = len(d.calls("DescribeAutoScalingInstances"))
    time.sleep(30)
    looks = len(d.calls("DescribeAutoScalingInstances")) - start
    # Full jitter under a bound that doubles to 4 s: about 30 / 2.5 looks; a look a second
    # (the old fixed confirm_interval) would be 30.
    assert 4 <= looks <= 22, looks
    held = [x for x in d.log().splitlines() if "replacement deferred" in x]
    assert len(held) == 1, held   # the figures may change; the kind did not: said once
    assert unhealthy_calls(d) == []
    # The reason goes: within the cap, it acts.
    d.write_config(checks=[d.flag_check("web")], policy=dict(FAST, max_unhealthy=1))
    d.reload()
    d.wait_for(lambda: unhealthy_calls(d), 15, "the request once the budget allows")


def test_drain_in_terminating_wait_requests_nothing(daemon_factory):
    d = daemon_factory(instances=2, extra_args=["--lifecycle-hook",
                                                "drain:terminate:30:CONTINUE"])
    # The drain hook stops the service: the liveness check fails while draining.
    stop = d.flag("web")
    hooks = add_hook(d, "terminate", "10-stop-service")
    with open(os.path.join(d.hooks_dir, "terminate", "05-fail-web"), "w") as f:
        f.write(f"#!/bin/sh\necho 2 > {stop}\n")
    os.chmod(os.path.join(d.hooks_dir, "terminate", "05-fail-web"), 0o755)
    d.start(checks=[d.flag_check("web")], policy=FAST,
            hooks=hooks_conf(heartbeat_interval=1)).wait_ready()
    scale_in(d)
    d.wait_for(lambda: runs(hooks) == 1, 30, "the drain hooks")
    d.wait_for(lambda: d.status()["heal"]["verdict"] == "unhealthy", 15, "unhealthy")
    time.sleep(3)
    assert unhealthy_calls(d) == [] and d.calls("TerminateInstanceInAutoScalingGroup") == []
    # Held while leaving, and once the drain is over and the group let go of it, it is
    # no group's any more: nothing to replace either way.
    assert d.decision()["reason"] in ("not-in-service", "group-replacing",
                                      "standalone-not-allowed")


def quiet_start(d):
    """A healthy drover asks the group at start, lifecycle's two questions (does a launch
    wait in Pending:Wait? IMDS's target state cannot tell; what does ABANDON do to this
    group, retain or terminate?), healing takes the same answer, and then nothing: 20 s
    here; the next question is an hour away (none with tags)."""
    d.start(checks=[d.flag_check("web")], policy=FAST)
    d.wait_ready()
    started = time.time()
    time.sleep(20)
    assert d.status()["heal"]["verdict"] == "healthy"
    calls = asg_calls(d)
    assert sorted(c["action"] for c in calls) == ["DescribeAutoScalingGroups",
                                                  "DescribeAutoScalingInstances"], calls
    assert all(c["time"] - started < 5 for c in calls), calls
    assert "InService" in d.notify.seen("STATUS=")[-1]


def test_quiet_while_healthy_with_tags_in_imds(daemon):
    quiet_start(daemon)


def test_quiet_while_healthy_without_tags(daemon_factory):
    quiet_start(daemon_factory(tags_in_imds=False))


def test_reload_keeps_a_failed_checks_state_unless_its_command_changes(daemon):
    d = daemon
    d.start(checks=[d.flag_check("web")], policy=dict(FAST, max_unhealthy=0))
    d.wait_ready()
    d.set_failing("web")
    d.wait_for(lambda: d.check("web")["state"] == "failed", 10, "web failed")
    # One key edited (the interval): still failed, at once; no fresh start.
    d.write_config(checks=[d.flag_check("web", interval=2)], policy=dict(FAST, max_unhealthy=0))
    d.reload()
    d.wait_for(lambda: d.check("web")["interval"] == 2 if "interval" in d.check("web")
               else True, 5, "reloaded")
    assert d.check("web")["state"] == "failed"
    assert d.status()["heal"]["verdict"] == "unhealthy"
    # A changed command (a fix to the check itself): a fresh start.
    fixed = d.flag_check("web")
    fixed["command"] = fixed["command"] + ["--fixed"]
    d.write_config(checks=[fixed], policy=dict(FAST, max_unhealthy=0))
    d.reload()
    d.wait_for(lambda: d.check("web")["state"] == "pending", 5, "a fresh start")
