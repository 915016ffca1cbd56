"""The group model: health replacement, scale in/out, lifecycle hooks with heartbeat
timeouts and default results, grace periods. time_scale makes model minutes wall
fractions of a second."""
import json

import pytest

from awshelp import client
from imdsclient import get, token

SCALE = 100     # model seconds per wall second


def _refused_soon(url, timeout=5):
    import http.client
    import time
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            token(url)
        except ConnectionRefusedError:
            return True
        except (ConnectionResetError, http.client.HTTPException):
            pass                                    # closing down
        time.sleep(0.05)
    return False


def _state_of(sim_state, iid):
    return next(i for i in sim_state["instances"] if i["id"] == iid)


def _wait_state(sim, iid, state, timeout=10):
    return sim.wait_for(lambda s: _state_of(s, iid)["state"] == state and s,
                        timeout=timeout, what=f"{iid} {state}")


def test_set_unhealthy_leads_to_replacement(sim_factory):
    s = sim_factory(instances=2, time_scale=SCALE)
    a, b = s.instance_ids
    old_port = s.imds_url(a)
    client(s, "autoscaling").set_instance_health(InstanceId=a, HealthStatus="Unhealthy")
    st = _wait_state(s, a, "Terminated")
    live = s.wait_for(lambda st: (ids := [i["id"] for i in st["instances"]
                                          if i["state"] == "InService"]) and
                      len(ids) == 2 and ids, what="replacement InService")
    (new,) = set(live) - {b}
    assert new != a
    # the replacement has its own IMDS port, and serves its own identity
    url = s.imds_url(new)
    assert url != old_port
    assert _refused_soon(old_port)                  # a terminated instance is gone
    assert get(url, "/latest/meta-data/instance-id", token(url))[1] == new
    acts = client(s, "autoscaling").describe_scaling_activities()["Activities"]
    term = next(x for x in acts if x["Description"] == f"Terminating EC2 instance: {a}")
    assert "in response to a user health-check" in term["Cause"]
    assert term["StatusCode"] == "Successful"
    launch = next(x for x in acts if x["Description"] == f"Launching a new EC2 instance: {new}")
    assert "difference between desired and actual capacity" in launch["Cause"]
    assert st is not None


def test_suspended_replace_unhealthy_holds(sim_factory):
    s = sim_factory(time_scale=SCALE)
    (a,) = s.instance_ids
    asg = client(s, "autoscaling")
    asg.suspend_processes(AutoScalingGroupName="drover-asg",
                          ScalingProcesses=["ReplaceUnhealthy"])
    asg.set_instance_health(InstanceId=a, HealthStatus="Unhealthy")
    import time
    time.sleep(0.3)
    inst = s.instance(a)
    assert (inst["state"], inst["health"]) == ("InService", "Unhealthy")
    asg.resume_processes(AutoScalingGroupName="drover-asg")
    _wait_state(s, a, "Terminated")


def test_replace_delay_leaves_a_window(sim_factory):
    """--replace-delay: an Unhealthy instance stays InService that long before the group
    replaces it, so an operator (or a test) can still intervene, as on AWS."""
    import time
    s = sim_factory(time_scale=SCALE, extra_args=["--replace-delay", "200"])  # 2 s of wall
    (a,) = s.instance_ids
    asg = client(s, "autoscaling")
    asg.set_instance_health(InstanceId=a, HealthStatus="Unhealthy")
    time.sleep(0.5)
    inst = s.instance(a)
    assert (inst["state"], inst["health"]) == ("InService", "Unhealthy")
    # Set Healthy inside the window: nothing is replaced.
    asg.set_instance_health(InstanceId=a, HealthStatus="Healthy")
    time.sleep(2.5)
    assert s.instance(a)["state"] == "InService"
    # Unhealthy again, and left so: replaced after the delay.
    asg.set_instance_health(InstanceId=a, HealthStatus="Unhealthy")
    _wait_state(s, a, "Terminated")


def test_grace_period_respected(sim_factory):
    s = sim_factory(time_scale=SCALE, health_check_grace=200)   # 2 s of wall time
    (a,) = s.instance_ids
    client(s, "autoscaling").set_instance_health(InstanceId=a, HealthStatus="Unhealthy",
                                                 ShouldRespectGracePeriod=True)
    assert s.instance(a)["state"] == "InService"
    _wait_state(s, a, "Terminated", timeout=10)


def test_terminate_hook_waits_for_complete(sim_factory):
    s = sim_factory(instances=2, time_scale=SCALE)
    a, _ = s.instance_ids
    s.add_lifecycle_hook("drain", "terminate", heartbeat_timeout=3600)  # 36 s wall
    tok = token(s.imds_url(a))
    client(s, "autoscaling").set_instance_health(InstanceId=a, HealthStatus="Unhealthy")
    _wait_state(s, a, "Terminating:Wait")
    assert get(s.imds_url(a), "/latest/meta-data/autoscaling/target-lifecycle-state",
               tok)[1] == "Terminated"
    action = s.instance(a)["lifecycle_action"]
    client(s, "autoscaling").complete_lifecycle_action(
        LifecycleHookName="drain", AutoScalingGroupName="drover-asg",
        LifecycleActionToken=action["token"], LifecycleActionResult="CONTINUE")
    _wait_state(s, a, "Terminated", timeout=5)


@pytest.mark.parametrize("default,final", [("CONTINUE", "InService"),
                                           ("ABANDON", "Terminated")])
def test_launch_hook_times_out_with_default_result(sim_factory, default, final):
    s = sim_factory(time_scale=30, extra_args=[
        "--lifecycle-hook", f"boot:launch:30:{default}"])     # 1 s wall
    s.set_desired(2, max=2)
    new = s.wait_for(lambda st: next((i["id"] for i in st["instances"]
                                      if i["state"] == "Pending:Wait"), None),
                     what="Pending:Wait")
    _wait_state(s, new, final)
    if final == "Terminated":   # and the group launches another to keep capacity
        s.wait_for(lambda st: any(i["state"] == "Pending:Wait" for i in st["instances"]),
                   what="another launch")


def test_heartbeat_extends_the_wait(sim_factory):
    s = sim_factory(time_scale=40, extra_args=["--lifecycle-hook",
                                               "drain:terminate:60:CONTINUE"])
    (a,) = s.instance_ids   # heartbeat timeout 60 model s = 1.5 s wall
    asg = client(s, "autoscaling")
    asg.set_instance_health(InstanceId=a, HealthStatus="Unhealthy")
    _wait_state(s, a, "Terminating:Wait")
    import time
    start = time.monotonic()
    while time.monotonic() - start < 3.0:   # 2 heartbeat timeouts
        asg.record_lifecycle_action_heartbeat(
            LifecycleHookName="drain", AutoScalingGroupName="drover-asg", InstanceId=a)
        assert s.instance(a)["state"] == "Terminating:Wait"
        time.sleep(0.2)
    assert s.instance(a)["lifecycle_action"]["heartbeats"] >= 5
    _wait_state(s, a, "Terminated", timeout=5)  # stopping heartbeats lets it time out


def test_scale_out_and_in(sim_factory):
    s = sim_factory(instances=1, time_scale=SCALE, max_size=3)
    s.set_desired(3)
    s.wait_for(lambda st: sum(i["state"] == "InService" for i in st["instances"]) == 3,
               what="3 InService")
    ports = {s.instance(i)["imds_port"] for i in s.instance_ids}
    assert len(ports) == 3
    s.set_desired(1)
    s.wait_for(lambda st: sum(i["state"] == "Terminated" for i in st["instances"]) == 2,
               what="scale-in")
    assert len(s.instance_ids) == 1
    with pytest.raises(Exception) as e:
        s.set_desired(5)
    assert "outside the bounds" in str(e.value)


def test_terminate_in_asg_decrement(sim_factory):
    s = sim_factory(instances=2, min_size=1, time_scale=SCALE)
    a, b = s.instance_ids
    client(s, "autoscaling").terminate_instance_in_auto_scaling_group(
        InstanceId=a, ShouldDecrementDesiredCapacity=True)
    _wait_state(s, a, "Terminated")
    st = s.state()
    assert st["group"]["desired"] == 1
    assert [i["id"] for i in st["instances"] if i["state"] != "Terminated"] == [b]


def test_ec2_terminate_of_member_is_replaced(sim_factory):
    s = sim_factory(instances=1, time_scale=SCALE)
    (a,) = s.instance_ids
    client(s, "ec2").terminate_instances(InstanceIds=[a])
    _wait_state(s, a, "Terminated")
    s.wait_for(lambda st: sum(i["state"] == "InService" for i in st["instances"]) == 1,
               what="replacement")


def test_state_is_json_and_complete(sim):
    st = sim.state()
    json.dumps(st)
    for key in ("group", "instances", "activities", "clock", "aws_port", "control_port",
                "imds", "credentials", "faults"):
        assert key in st


def test_retention_on_abandon_with_aws_cli(sim_factory):
    """InstanceLifecyclePolicy.RetentionTriggers.TerminateHookAbandon = retain: an ABANDON
    leaves the instance in Terminating:Retained, out of desired capacity (a replacement
    is launched), until TerminateInstanceInAutoScalingGroup."""
    from awshelp import cli
    s = sim_factory(instances=2, time_scale=SCALE)
    a, _ = s.instance_ids
    s.add_lifecycle_hook("drain", "terminate", heartbeat_timeout=3600)
    s.control("POST", "/group", {"retention": "retain"})
    # Debian's CLI predates the field: its --debug log shows the raw answer.
    p = cli(s, "--debug", "autoscaling", "describe-auto-scaling-groups")
    assert p.returncode == 0
    assert "<InstanceLifecyclePolicy><RetentionTriggers><TerminateHookAbandon>retain" \
        "</TerminateHookAbandon>" in p.stderr
    assert cli(s, "autoscaling", "set-instance-health", "--instance-id", a,
               "--health-status", "Unhealthy").returncode == 0
    _wait_state(s, a, "Terminating:Wait")
    p = cli(s, "autoscaling", "complete-lifecycle-action", "--lifecycle-hook-name", "drain",
            "--auto-scaling-group-name", "drover-asg", "--instance-id", a,
            "--lifecycle-action-result", "ABANDON")
    assert p.returncode == 0, p.stderr
    _wait_state(s, a, "Terminating:Retained")
    tok = token(s.imds_url(a))
    assert get(s.imds_url(a), "/latest/meta-data/autoscaling/target-lifecycle-state",
               tok)[1] == "Terminated"
    s.wait_for(lambda st: sum(i["state"] == "InService" for i in st["instances"]) == 2,
               what="a replacement for the retained instance")
    p = cli(s, "autoscaling", "describe-auto-scaling-instances", "--instance-ids", a)
    assert json.loads(p.stdout)["AutoScalingInstances"][0]["LifecycleState"] == \
        "Terminating:Retained"
    import time
    time.sleep(0.5)
    assert s.instance(a)["state"] == "Terminating:Retained"     # it stays
    assert cli(s, "autoscaling", "terminate-instance-in-auto-scaling-group",
               "--instance-id", a, "--no-should-decrement-desired-capacity"
               ).returncode == 0
    _wait_state(s, a, "Terminated")
    # Without the policy an ABANDON terminates, and the field is absent.
    s.control("POST", "/group", {"retention": None})
    p = cli(s, "--debug", "autoscaling", "describe-auto-scaling-groups")
    assert "InstanceLifecyclePolicy" not in p.stderr.split("Response body")[-1]


def test_warm_pool_in_and_out_with_aws_cli(sim_factory):
    """Entering the pool runs the launch hook (Warmed:Pending:Wait) and leaving it for
    InService runs it again (Pending:Wait); IMDS shows the pool's state meanwhile."""
    from awshelp import cli
    s = sim_factory(instances=2, time_scale=SCALE,
                    extra_args=["--lifecycle-hook", "boot:launch:3600:ABANDON"])
    a, _ = s.instance_ids

    def complete():
        p = cli(s, "autoscaling", "complete-lifecycle-action", "--lifecycle-hook-name",
                "boot", "--auto-scaling-group-name", "drover-asg", "--instance-id", a,
                "--lifecycle-action-result", "CONTINUE")
        assert p.returncode == 0, p.stderr

    def cli_state():
        p = cli(s, "autoscaling", "describe-auto-scaling-instances", "--instance-ids", a)
        return json.loads(p.stdout)["AutoScalingInstances"][0]["LifecycleState"]
    s.control("POST", f"/instances/{a}/warm-pool", {"action": "enter"})
    _wait_state(s, a, "Warmed:Pending:Wait")
    assert cli_state() == "Warmed:Pending:Wait"
    tok = token(s.imds_url(a))
    target = "/latest/meta-data/autoscaling/target-lifecycle-state"
    assert get(s.imds_url(a), target, tok)[1] == "Warmed:Running"
    complete()
    _wait_state(s, a, "Warmed:Running")
    groups = json.loads(cli(s, "autoscaling", "describe-auto-scaling-groups").stdout)
    assert a not in [i["InstanceId"] for i in groups["AutoScalingGroups"][0]["Instances"]]
    assert groups["AutoScalingGroups"][0]["DesiredCapacity"] == 1
    s.control("POST", f"/instances/{a}/warm-pool", {"action": "leave"})
    _wait_state(s, a, "Pending:Wait")
    assert cli_state() == "Pending:Wait"
    assert get(s.imds_url(a), target, tok)[1] == "InService"
    complete()
    _wait_state(s, a, "InService")
