"""Lifecycle hooks end to end: the real `drover run` against tests/sim (accelerated time).

Scale-in with a termination hook, failing and hanging hooks, a launch held for readiness,
spot interruptions, rebalance and scheduled events with replace_on, and a restart in the
middle of a termination.
"""
import os
import time

# The hook: counts its runs, records its DROVER_* environment and when it ran, optionally
# sleeps in a child whose pid goes to a .pids file (the daemon fixture proves none is
# left behind), says something (for the journal) and exits with the given code.
HOOK = r"""#!/bin/sh
echo run >> "{out}.runs"
date +%s.%N > "{out}.started"
{body}
env | grep '^DROVER_' | sort > "{out}.tmp"
date +%s.%N >> "{out}.tmp"
mv "{out}.tmp" "{out}"
echo "hook {name} says hello"
exit {code}
"""
SLEEP = 'sleep {secs} &\necho "$! $$" >> "{pids}"\nwait'


def add_hook(d, event, name, code=0, sleep=0):
    os.makedirs(os.path.join(d.hooks_dir, event), mode=0o755, exist_ok=True)
    out = os.path.join(d.dir, f"hook-{event}-{name}")
    body = SLEEP.format(secs=sleep, pids=out + ".pids") if sleep else ""
    path = os.path.join(d.hooks_dir, event, name)
    with open(path, "w") as f:
        f.write(HOOK.format(out=out, body=body, name=name, code=code))
    os.chmod(path, 0o755)
    return out


def hook_env(out):
    """(environment dict, finish time) of a finished hook, or None."""
    if not os.path.exists(out):
        return None
    with open(out) as f:
        lines = f.read().splitlines()
    env = dict(line.split("=", 1) for line in lines[:-1])
    return env, float(lines[-1])


def runs(out):
    if not os.path.exists(out + ".runs"):
        return 0
    with open(out + ".runs") as f:
        return len(f.read().split())


def hooks_conf(**extra):
    h = {"timeout": 20, "heartbeat_interval": 1, "poll_interval": 0.5,
         "lifecycle_hook_names": {"terminate": "drain", "launch": "boot"}}
    h.update(extra)
    return h


def completes(d):
    return [c for c in d.calls("CompleteLifecycleAction") if c["status"] == 200]


def state_of(d, iid=None):
    iid = iid or d.instance_id
    return next(i for i in d.sim.state()["instances"] if i["id"] == iid)


def scale_in(d):
    """The group drops d's instance (the oldest)."""
    d.sim.set_desired(len(d.sim.instance_ids) - 1, min=0)


def test_scale_in_runs_hooks_heartbeats_and_continues(daemon_factory):
    d = daemon_factory(instances=2, extra_args=["--lifecycle-hook",
                                                "drain:terminate:30:ABANDON"])
    fast = add_hook(d, "terminate", "10-deregister")
    slow = add_hook(d, "terminate", "20-flush", sleep=6)
    d.start(checks=[d.flag_check("web")], hooks=hooks_conf()).wait_ready()
    time.sleep(1)
    assert completes(d) == [] and hook_env(fast) is None  # nothing happens while InService

    scale_in(d)
    d.wait_for(lambda: completes(d), 30, "CompleteLifecycleAction")
    env, t_fast = hook_env(fast)
    assert env["DROVER_EVENT"] == "terminate"
    assert env["DROVER_INSTANCE_ID"] == d.instance_id
    assert env["DROVER_REGION"] == d.sim.region
    assert env["DROVER_ASG"] == "drover-asg"
    assert env["DROVER_LIFECYCLE_HOOK"] == "drain"
    assert env["DROVER_DEADLINE"] == ""
    assert env["DROVER_RETENTION"] == "terminate"   # the group has no lifecycle policy
    assert env["DROVER_WARM_POOL"] == ""
    _, t_slow = hook_env(slow)
    assert t_fast <= t_slow  # name order
    # The slow hook outlived the group's 3 s heartbeat timeout: heartbeats kept it waiting.
    beats = [c for c in d.calls("RecordLifecycleActionHeartbeat") if c["status"] == 200]
    assert len(beats) >= 2
    assert all(c["params"]["LifecycleHookName"] == "drain" for c in beats)
    [done] = completes(d)
    assert done["params"]["LifecycleActionResult"] == "CONTINUE"
    assert done["params"]["AutoScalingGroupName"] == "drover-asg"
    # The group took our answer, not its default (ABANDON) after a timeout.
    d.sim.wait_for(lambda st: state_of(d)["state"] in ("Terminating:Proceed", "Terminated"))
    assert any(c["args"][0] == "drover-terminate.target"
               for c in d.systemd.calls("StartUnit"))
    assert "hook terminate/20-flush: hook 20-flush says hello" in d.log()
    assert runs(fast) == 1 and runs(slow) == 1


def test_failing_hook_abandons_when_configured(daemon_factory):
    d = daemon_factory(instances=2, extra_args=["--lifecycle-hook",
                                                "drain:terminate:300:CONTINUE"])
    bad = add_hook(d, "terminate", "10-fails", code=3)
    good = add_hook(d, "terminate", "20-runs-anyway")
    d.start(checks=[d.flag_check("web")],
            hooks=hooks_conf(on_failure="abandon")).wait_ready()
    scale_in(d)
    d.wait_for(lambda: completes(d), 30, "CompleteLifecycleAction")
    assert completes(d)[0]["params"]["LifecycleActionResult"] == "ABANDON"
    assert runs(bad) == 1 and runs(good) == 1
    # The group answered; drover records that it did right after.
    d.wait_for(lambda: d.status()["lifecycle"]["record"]["completed"], 5, "the record")
    rec = d.status()["lifecycle"]["record"]
    assert rec["failed"] == 1
    assert "!terminate/10-fails" in rec["hooks_done"]


def test_hanging_hook_is_killed_and_the_action_completed(daemon_factory):
    d = daemon_factory(instances=2, extra_args=["--lifecycle-hook",
                                                "drain:terminate:300:ABANDON"])
    hang = add_hook(d, "terminate", "10-hangs", sleep=1000)
    d.start(checks=[d.flag_check("web")], hooks=hooks_conf(timeout=2)).wait_ready()
    scale_in(d)
    t0 = time.monotonic()
    d.wait_for(lambda: completes(d), 30, "CompleteLifecycleAction")
    assert time.monotonic() - t0 < 15
    assert completes(d)[0]["params"]["LifecycleActionResult"] == "CONTINUE"
    assert hook_env(hang) is None  # it never got past its sleep
    d.assert_no_process_left()
    assert "timed out" in d.log()


def test_no_hook_name_runs_hooks_and_completes_nothing(daemon_factory):
    d = daemon_factory(instances=2, extra_args=["--lifecycle-hook",
                                                "other:terminate:30:CONTINUE"])
    out = add_hook(d, "terminate", "10-deregister")
    d.start(checks=[d.flag_check("web")],
            hooks=hooks_conf(lifecycle_hook_names={"terminate": "", "launch": ""})).wait_ready()
    scale_in(d)
    d.wait_for(lambda: hook_env(out), 20, "the terminate hook")
    d.wait_for(lambda: "completing nothing" in d.log(), 10, "the notice")
    time.sleep(1)
    assert d.sim.calls("CompleteLifecycleAction") == []
    assert hook_env(out)[0]["DROVER_LIFECYCLE_HOOK"] == ""
    assert d.log().count("completing nothing (the group") == 1


def launching(d, hook_timeout):
    """Scales out; points d at the new instance held in Pending:Wait."""
    d.sim.add_lifecycle_hook("boot", "launch", heartbeat_timeout=hook_timeout)
    d.sim.set_desired(2, max=2)
    new = d.sim.wait_for(lambda st: next((i for i in st["instances"]
                                          if i["state"] == "Pending:Wait"), None),
                         20, what="an instance in Pending:Wait")
    d.instance_id = new["id"]
    d.imds_port = new["imds_port"]
    return new["id"]


def test_launch_waits_for_readiness_then_continues(daemon_factory):
    d = daemon_factory(instances=1)
    iid = launching(d, hook_timeout=30)
    boot = add_hook(d, "launch", "10-bootstrap")
    d.set_failing("ready")
    d.start(checks=[d.flag_check("web"), d.flag_check("ready", role="readiness")],
            hooks=hooks_conf(launch_timeout=120)).wait_ready()
    d.wait_for(lambda: hook_env(boot), 20, "the launch hook")
    env = hook_env(boot)[0]
    assert env["DROVER_EVENT"] == "launch" and env["DROVER_LIFECYCLE_HOOK"] == "boot"
    assert int(env["DROVER_DEADLINE"]) > time.time()
    # Not ready: held, with heartbeats past the group's 3 s timeout.
    time.sleep(5)
    assert completes(d) == [] and state_of(d, iid)["state"] == "Pending:Wait"
    assert d.status()["lifecycle"]["running"]["phase"] == "waiting-for-readiness"
    d.set_failing("ready", 0)
    d.wait_for(lambda: completes(d), 20, "CompleteLifecycleAction")
    assert completes(d)[0]["params"]["LifecycleActionResult"] == "CONTINUE"
    assert completes(d)[0]["params"]["LifecycleHookName"] == "boot"
    d.sim.wait_for(lambda st: state_of(d, iid)["state"] == "InService", 10)
    assert any(c["args"][0] == "drover-launch.target" for c in d.systemd.calls("StartUnit"))


def test_launch_never_ready_abandons_at_the_timeout(daemon_factory):
    d = daemon_factory(instances=1)
    launching(d, hook_timeout=300)
    d.set_failing("ready")
    d.start(checks=[d.flag_check("web"), d.flag_check("ready", role="readiness")],
            hooks=hooks_conf(launch_timeout=3)).wait_ready()
    d.wait_for(lambda: completes(d), 20, "CompleteLifecycleAction")
    assert completes(d)[0]["params"]["LifecycleActionResult"] == "ABANDON"


def test_spot_interruption_runs_spot_then_terminate_hooks_in_time(daemon_factory):
    d = daemon_factory(instances=1, spot=True)
    spot = add_hook(d, "spot-interruption", "10-checkpoint")
    term = add_hook(d, "terminate", "10-deregister")
    d.start(checks=[d.flag_check("web")], hooks=hooks_conf()).wait_ready()
    d.sim.set_instance(d.instance_id, spot_action={"action": "stop", "in": 20})
    noticed = time.time()
    d.wait_for(lambda: hook_env(term), 20, "the terminate hook")
    s_env, t_spot = hook_env(spot)
    t_env, t_term = hook_env(term)
    deadline = int(s_env["DROVER_DEADLINE"])
    assert abs(deadline - (noticed + 20)) <= 3
    assert s_env["DROVER_EVENT"] == "spot-interruption"
    assert s_env["DROVER_SPOT_ACTION"] == "stop"
    assert t_env["DROVER_EVENT"] == "terminate" and t_env["DROVER_SPOT_ACTION"] == "stop"
    assert t_spot <= t_term < deadline
    time.sleep(1.5)
    assert runs(spot) == 1 and runs(term) == 1
    assert d.sim.calls("CompleteLifecycleAction") == []  # the group holds nothing
    assert d.status()["lifecycle"]["spot"]["action"] == "stop"


def test_rebalance_with_replace_on_asks_the_group_once(daemon_factory):
    d = daemon_factory(instances=2)
    reb = add_hook(d, "rebalance", "10-note")
    d.start(checks=[d.flag_check("web")],
            hooks=hooks_conf(replace_on=["rebalance"])).wait_ready()
    d.sim.set_instance(d.instance_id, rebalance=True)
    d.wait_for(lambda: d.replacements(), 20, "a replacement request")
    time.sleep(3)
    assert len(d.replacements()) == 1
    assert runs(reb) == 1
    assert hook_env(reb)[0]["DROVER_EVENT"] == "rebalance"


def test_rebalance_without_replace_on_only_runs_hooks(daemon_factory):
    d = daemon_factory(instances=2)
    reb = add_hook(d, "rebalance", "10-note")
    d.start(checks=[d.flag_check("web")], hooks=hooks_conf(replace_on=[])).wait_ready()
    d.sim.set_instance(d.instance_id, rebalance=True)
    d.wait_for(lambda: hook_env(reb), 20, "the rebalance hook")
    time.sleep(2)
    assert d.replacements() == [] and runs(reb) == 1


def test_scheduled_retirement_replaces_once(daemon_factory):
    d = daemon_factory(instances=2)
    out = add_hook(d, "scheduled-event", "10-note")
    d.start(checks=[d.flag_check("web")], hooks=hooks_conf()).wait_ready()  # default replace_on
    d.sim.set_instance(d.instance_id, scheduled_events=[
        {"code": "instance-retirement", "in": 3600, "event_id": "instance-event-0abc"}])
    d.wait_for(lambda: d.replacements(), 20, "a replacement request")
    env = hook_env(out)[0]
    assert env["DROVER_EVENT"] == "scheduled-event"
    assert env["DROVER_EVENT_CODE"] == "instance-retirement"
    assert abs(int(env["DROVER_DEADLINE"]) - (time.time() + 3600)) < 30
    time.sleep(3)
    assert len(d.replacements()) == 1 and runs(out) == 1


def test_restart_mid_termination_resumes_without_rerunning(daemon_factory):
    d = daemon_factory(instances=2, extra_args=["--lifecycle-hook",
                                                "drain:terminate:60:ABANDON"])
    first = add_hook(d, "terminate", "10-first")
    second = add_hook(d, "terminate", "20-second", sleep=4)
    d.start(checks=[d.flag_check("web")], hooks=hooks_conf()).wait_ready()
    scale_in(d)
    d.wait_for(lambda: os.path.exists(second + ".started"), 20, "the second hook")
    assert d.stop() == 0
    assert completes(d) == []
    d.start()
    d.wait_for(lambda: completes(d), 30, "CompleteLifecycleAction")
    assert completes(d)[0]["params"]["LifecycleActionResult"] == "CONTINUE"
    assert runs(first) == 1   # finished before the restart: not again
    assert runs(second) == 2  # was running: runs again (hooks are idempotent)
    assert "resuming" in d.log()


# ---- every notice handled exactly once (issue 18) ----

def test_moving_notice_times_run_hooks_once(daemon_factory):
    """amazon-ec2-metadata-mock moves the spot and rebalance times on every request."""
    d = daemon_factory(instances=2)
    spot = add_hook(d, "spot-interruption", "10-checkpoint")
    reb = add_hook(d, "rebalance", "10-note")
    d.sim.control("POST", "/imds/moving-notices", {"enabled": True})
    d.start(checks=[d.flag_check("web")], hooks=hooks_conf(replace_on=[])).wait_ready()
    d.sim.set_instance(d.instance_id, rebalance=True)
    d.wait_for(lambda: hook_env(reb), 20, "the rebalance hook")
    d.sim.set_instance(d.instance_id, spot_action={"action": "stop", "in": 600})
    d.wait_for(lambda: hook_env(spot), 20, "the spot hook")
    time.sleep(4)   # eight polls, every one with new times
    assert runs(reb) == 1 and runs(spot) == 1
    # Gone, then back: a new notice, so the hooks run again.
    d.sim.set_instance(d.instance_id, rebalance=False)
    d.wait_for(lambda: d.status()["lifecycle"]["rebalance"] is None, 10, "the notice gone")
    time.sleep(1)
    d.sim.set_instance(d.instance_id, rebalance=True)
    d.wait_for(lambda: runs(reb) == 2, 20, "the rebalance hook again")
    time.sleep(2)
    assert runs(reb) == 2 and runs(spot) == 1


def test_rebalance_then_scheduled_then_restart_reruns_nothing(daemon_factory):
    d = daemon_factory(instances=2)
    reb = add_hook(d, "rebalance", "10-note")
    sched = add_hook(d, "scheduled-event", "10-note")
    d.start(checks=[d.flag_check("web")],
            hooks=hooks_conf(replace_on=["system-maintenance"]),
            policy={"action": "set-unhealthy", "dry_run": True}).wait_ready()
    d.sim.set_instance(d.instance_id, rebalance=True)
    d.wait_for(lambda: hook_env(reb), 20, "the rebalance hook")
    d.sim.set_instance(d.instance_id, scheduled_events=[
        {"code": "system-maintenance", "in": 3600, "event_id": "instance-event-0abc"}])
    d.wait_for(lambda: hook_env(sched), 20, "the scheduled-event hook")
    d.wait_for(lambda: "replace_on asks for a replacement" in d.log(), 10, "replace_on")
    time.sleep(1)
    assert d.stop() == 0            # an upgrade: both notices are still listed
    d.start().wait_ready()
    d.wait_for(lambda: d.status()["lifecycle"]["rebalance"] is not None, 10, "the notices")
    time.sleep(3)
    assert runs(reb) == 1 and runs(sched) == 1
    assert d.log().count("replace_on asks for a replacement") == 1
    handled = [h["key"] for h in d.status()["lifecycle"]["handled"]]
    assert "rebalance" in handled and "scheduled-event@instance-event-0abc" in handled


def test_corrupt_state_is_dropped_once_and_says_what_may_rerun(daemon_factory):
    d = daemon_factory(instances=2)
    reb = add_hook(d, "rebalance", "10-note")
    with open(os.path.join(d.state_dir, "state.json"), "w") as f:
        f.write('{"instance_id": "%s", "boot_id": "", "handled": [{"key": "a b"}]}'
                % d.instance_id)
    d.start(checks=[d.flag_check("web")], hooks=hooks_conf(replace_on=[])).wait_ready()
    d.sim.set_instance(d.instance_id, rebalance=True)
    d.wait_for(lambda: hook_env(reb), 20, "the rebalance hook")
    time.sleep(1)
    assert d.log().count("ignoring unreadable state") == 1
    assert "may run their hooks again" in d.log()
    # and the file written afterwards is sound: a restart runs nothing again
    assert d.stop() == 0
    d.start().wait_ready()
    time.sleep(2)
    assert runs(reb) == 1 and d.log().count("ignoring unreadable state") == 1


# ---- failures you can see (issue 18) ----

def warnings(d, text):
    return [line for line in d.log().splitlines() if line.startswith("<4>") and text in line]


def test_heartbeat_failures_warn_once_with_the_http_status(daemon_factory):
    d = daemon_factory(instances=2, extra_args=["--lifecycle-hook",
                                                "drain:terminate:300:ABANDON"])
    slow = add_hook(d, "terminate", "10-flush", sleep=8)
    d.start(checks=[d.flag_check("web")], hooks=hooks_conf()).wait_ready()
    # A proxy in the way answers the first heartbeats with an HTML page.
    d.sim.fault("aws", path="RecordLifecycleActionHeartbeat", kind="html", status=502,
                count=4)
    scale_in(d)
    d.wait_for(lambda: d.status()["lifecycle"].get("running", {}).get("heartbeat_failures"),
               20, "a failed heartbeat")
    running = d.status()["lifecycle"]["running"]
    assert running["event"] == "terminate" and running["hooks_left"] == 1
    assert "HTTP 502, not an AWS error document" in running["last_heartbeat_error"]
    d.wait_for(lambda: completes(d), 40, "CompleteLifecycleAction")
    assert runs(slow) == 1
    lines = warnings(d, "RecordLifecycleActionHeartbeat drain failed")
    assert len(lines) == 1, lines
    assert "HTTP 502, not an AWS error document" in lines[0]
    assert "RecordLifecycleActionHeartbeat drain works again after 4 failures" in d.log()
    [summary] = warnings(d, "heartbeats failed during this event")
    assert "4 of" in summary
    assert any("lifecycle terminate (hooks): 0/1 hooks done" in s for s in d.notify.seen("STATUS="))


def test_completion_given_up_is_recorded_as_failed(daemon_factory):
    d = daemon_factory(instances=2, extra_args=["--lifecycle-hook",
                                                "drain:terminate:300:ABANDON"])
    add_hook(d, "terminate", "10-deregister")
    d.start(checks=[d.flag_check("web")], hooks=hooks_conf()).wait_ready()
    # moto's error shape, ErrorResponse/Errors/Error: the code must still be read.
    d.sim.fault("aws", path="CompleteLifecycleAction", kind="status", status=500,
                shape="errors")
    scale_in(d)
    d.wait_for(lambda: (d.status()["lifecycle"].get("record") or {}).get("outcome")
               == "failed", 40, "the completion given up")
    rec = d.status()["lifecycle"]["record"]
    assert rec["completed"] is False
    assert len(d.calls("CompleteLifecycleAction")) == 5
    first = warnings(d, "CompleteLifecycleAction drain CONTINUE failed")
    assert len(first) == 1, first
    assert "InternalFailure: HTTP 500: An internal error has occurred" in first[0]
    [gave_up] = warnings(d, "terminate: FAILED")
    assert "given up after 5 attempts" in gave_up and "HTTP 500" in gave_up
    d.sim.clear_faults()
    time.sleep(2)
    assert len(d.calls("CompleteLifecycleAction")) == 5    # handled: not again


def test_held_in_wait_the_group_is_not_polled(daemon_factory):
    """The heartbeats' answers say the group still holds the instance: no poll every tick
    (at a scale-in of 1,000 instances that was 200 calls a second)."""
    d = daemon_factory(instances=2, extra_args=["--lifecycle-hook",
                                                "drain:terminate:300:ABANDON"])
    slow = add_hook(d, "terminate", "10-flush", sleep=6)
    d.start(checks=[d.flag_check("web")], hooks=hooks_conf()).wait_ready()
    scale_in(d)
    d.wait_for(lambda: os.path.exists(slow + ".started"), 20, "the hook")
    before = len(d.calls("DescribeAutoScalingInstances"))
    d.wait_for(lambda: completes(d), 30, "CompleteLifecycleAction")
    during = len(d.calls("DescribeAutoScalingInstances")) - before
    assert during <= 2, during          # 12 polls of 0.5 s went by
    assert len([c for c in d.calls("RecordLifecycleActionHeartbeat")
                if c["status"] == 200]) >= 3


# ---- retention (issue 18) ----

def metric_names(d):
    return {v for c in d.sim.calls("PutMetricData") for k, v in c["params"].items()
            if k.endswith(".MetricName")}


def test_retained_after_abandon_is_reported_and_left_alone(daemon_factory):
    d = daemon_factory(instances=2, extra_args=["--lifecycle-hook",
                                                "drain:terminate:300:ABANDON"])
    d.sim.control("POST", "/group", {"retention": "retain"})
    bad = add_hook(d, "terminate", "10-drain-fails", code=1)
    d.start(checks=[d.flag_check("web")], metrics={"high_resolution": True},
            hooks=hooks_conf(on_failure="abandon")).wait_ready()
    d.wait_for(lambda: d.status()["lifecycle"]["retention"] == "retain", 10, "the policy")
    [cost] = warnings(d, "hooks.on_failure = \"abandon\" and group drover-asg retains")
    assert "out of desired capacity" in cost
    scale_in(d)
    d.wait_for(lambda: completes(d), 30, "CompleteLifecycleAction")
    assert completes(d)[0]["params"]["LifecycleActionResult"] == "ABANDON"
    assert hook_env(bad)[0]["DROVER_RETENTION"] == "retain"
    d.sim.wait_for(lambda st: state_of(d)["state"] == "Terminating:Retained")
    d.wait_for(lambda: d.status()["lifecycle"]["retained"], 20, "retained in status")
    d.wait_for(lambda: "LifecycleRetained" in metric_names(d), 40, "the metric")
    time.sleep(2)
    lines = warnings(d, "the group retains this instance (Terminating:Retained)")
    assert len(lines) == 1, lines
    assert runs(bad) == 1 and len(completes(d)) == 1      # nothing done about it
    assert d.replacements() == []
    assert "retention: hook" not in d.log()
    assert len(warnings(d, "hooks.on_failure = \"abandon\" and group")) == 1


# ---- warm pools (issue 18) ----

def test_warm_pool_in_and_out_runs_launch_hooks_twice(daemon_factory):
    d = daemon_factory(instances=2)
    d.sim.add_lifecycle_hook("boot", "launch", heartbeat_timeout=300)
    boot = add_hook(d, "launch", "10-bootstrap")
    d.set_failing("ready")          # the application does not start in the pool
    d.start(checks=[d.flag_check("web"), d.flag_check("ready", role="readiness")],
            hooks=hooks_conf(launch_timeout=120)).wait_ready()
    d.sim.control("POST", f"/instances/{d.instance_id}/warm-pool", {"action": "enter"})
    d.wait_for(lambda: completes(d), 30, "CompleteLifecycleAction entering the pool")
    entering = hook_env(boot)[0]
    assert entering["DROVER_EVENT"] == "launch" and entering["DROVER_WARM_POOL"] == "entering"
    assert completes(d)[0]["params"]["LifecycleActionResult"] == "CONTINUE"  # not ready: fine
    d.sim.wait_for(lambda st: state_of(d)["state"] == "Warmed:Running", 10)
    time.sleep(1)
    assert runs(boot) == 1 and len(completes(d)) == 1

    d.sim.control("POST", f"/instances/{d.instance_id}/warm-pool", {"action": "leave"})
    d.wait_for(lambda: runs(boot) == 2, 40, "the launch hook leaving the pool")
    d.wait_for(lambda: hook_env(boot)[0]["DROVER_WARM_POOL"] == "leaving", 10, "its env")
    # Leaving for InService: readiness gates the completion, as for any launch.
    time.sleep(3)
    assert len(completes(d)) == 1 and state_of(d)["state"] == "Pending:Wait"
    running = d.status()["lifecycle"]["running"]
    assert running["warm_pool"] == "leaving" and running["phase"] == "waiting-for-readiness"
    d.set_failing("ready", 0)
    d.wait_for(lambda: len(completes(d)) == 2, 20, "CompleteLifecycleAction leaving")
    d.sim.wait_for(lambda st: state_of(d)["state"] == "InService", 10)
    time.sleep(1)
    assert runs(boot) == 2
