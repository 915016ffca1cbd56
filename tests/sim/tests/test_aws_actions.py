"""Every AWS action the sim offers, through botocore's client (so every response goes
through botocore's own parser for its operation) and through the AWS CLI."""
import concurrent.futures
import datetime
import json
import time

import pytest
from botocore.exceptions import ClientError

from awshelp import client, cli


@pytest.fixture
def group(sim_factory):
    return sim_factory(instances=2, time_scale=50, max_size=4)


def test_autoscaling_actions_with_botocore(group):
    asg = client(group, "autoscaling")
    a, b = group.instance_ids
    g = asg.describe_auto_scaling_groups(AutoScalingGroupNames=["drover-asg"])
    g = g["AutoScalingGroups"][0]
    assert (g["MinSize"], g["MaxSize"], g["DesiredCapacity"]) == (2, 4, 2)
    assert {i["InstanceId"] for i in g["Instances"]} == {a, b}
    assert g["Instances"][0]["HealthStatus"] == "Healthy"
    assert isinstance(g["CreatedTime"], datetime.datetime)
    assert asg.describe_auto_scaling_groups(
        AutoScalingGroupNames=["other"])["AutoScalingGroups"] == []

    inst = asg.describe_auto_scaling_instances(InstanceIds=[a])["AutoScalingInstances"]
    assert [(i["InstanceId"], i["HealthStatus"], i["AutoScalingGroupName"]) for i in inst] \
        == [(a, "HEALTHY", "drover-asg")]
    assert asg.describe_auto_scaling_instances(
        InstanceIds=["i-0123456789abcdef0"])["AutoScalingInstances"] == []

    asg.create_or_update_tags(Tags=[{
        "ResourceId": "drover-asg", "ResourceType": "auto-scaling-group",
        "Key": "drover:paused", "Value": "true", "PropagateAtLaunch": False}])
    asg.suspend_processes(AutoScalingGroupName="drover-asg",
                          ScalingProcesses=["ReplaceUnhealthy"])
    g = asg.describe_auto_scaling_groups()["AutoScalingGroups"][0]
    assert [t["Key"] for t in g["Tags"]] == ["drover:paused"]
    assert [p["ProcessName"] for p in g["SuspendedProcesses"]] == ["ReplaceUnhealthy"]
    assert g["SuspendedProcesses"][0]["SuspensionReason"].startswith("User suspended at")
    asg.resume_processes(AutoScalingGroupName="drover-asg")
    assert asg.describe_auto_scaling_groups()["AutoScalingGroups"][0][
        "SuspendedProcesses"] == []

    asg.put_lifecycle_hook(LifecycleHookName="drain", AutoScalingGroupName="drover-asg",
                           LifecycleTransition="autoscaling:EC2_INSTANCE_TERMINATING",
                           HeartbeatTimeout=3600, DefaultResult="CONTINUE")
    hooks = asg.describe_lifecycle_hooks(AutoScalingGroupName="drover-asg")["LifecycleHooks"]
    assert [(h["LifecycleHookName"], h["HeartbeatTimeout"], h["GlobalTimeout"],
             h["DefaultResult"]) for h in hooks] == [("drain", 3600, 172800, "CONTINUE")]

    asg.set_instance_health(InstanceId=a, HealthStatus="Unhealthy",
                            ShouldRespectGracePeriod=False)
    group.wait_for(lambda s: any(i["id"] == a and i["state"] == "Terminating:Wait"
                                 for i in s["instances"]), what="Terminating:Wait")
    asg.record_lifecycle_action_heartbeat(LifecycleHookName="drain",
                                          AutoScalingGroupName="drover-asg", InstanceId=a)
    asg.complete_lifecycle_action(LifecycleHookName="drain",
                                  AutoScalingGroupName="drover-asg", InstanceId=a,
                                  LifecycleActionResult="CONTINUE")
    with pytest.raises(ClientError) as e:
        asg.complete_lifecycle_action(LifecycleHookName="drain",
                                      AutoScalingGroupName="drover-asg", InstanceId=a,
                                      LifecycleActionResult="CONTINUE")
    assert e.value.response["Error"]["Code"] == "ValidationError"
    assert "No active Lifecycle Action" in e.value.response["Error"]["Message"]

    act = asg.terminate_instance_in_auto_scaling_group(
        InstanceId=b, ShouldDecrementDesiredCapacity=False)["Activity"]
    assert act["Description"] == f"Terminating EC2 instance: {b}"
    assert act["StatusCode"] == "InProgress"

    acts = asg.describe_scaling_activities(AutoScalingGroupName="drover-asg")["Activities"]
    causes = [x["Cause"] for x in acts]
    assert any("in response to a user health-check" in c for c in causes)
    assert any(x["Description"].startswith("Launching a new EC2 instance") for x in acts)
    assert all(isinstance(x["StartTime"], datetime.datetime) for x in acts)
    page = asg.describe_scaling_activities(MaxRecords=1)
    assert len(page["Activities"]) == 1 and page["NextToken"]

    with pytest.raises(ClientError) as e:
        asg.set_instance_health(InstanceId="i-0123456789abcdef0", HealthStatus="Unhealthy")
    assert e.value.response["Error"]["Code"] == "ValidationError"
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_ec2_actions_with_botocore(sim_factory):
    s = sim_factory(extra_args=["--standalone", "1"], time_scale=20)
    ec2 = client(s, "ec2")
    (lone,) = s.standalone_ids
    (member,) = s.instance_ids
    res = ec2.describe_instances(InstanceIds=[lone])["Reservations"]
    inst = res[0]["Instances"][0]
    assert inst["InstanceId"] == lone and inst["State"]["Name"] == "running"
    assert isinstance(inst["LaunchTime"], datetime.datetime)
    tagged = ec2.describe_instances(Filters=[{"Name": "tag:aws:autoscaling:groupName",
                                              "Values": ["drover-asg"]}])
    assert [r["Instances"][0]["InstanceId"] for r in tagged["Reservations"]] == [member]
    with pytest.raises(ClientError) as e:
        ec2.describe_instances(InstanceIds=["i-0123456789abcdef0"])
    assert e.value.response["Error"]["Code"] == "InvalidInstanceID.NotFound"
    with pytest.raises(ClientError) as e:
        ec2.terminate_instances(InstanceIds=[lone], DryRun=True)
    assert e.value.response["Error"]["Code"] == "DryRunOperation"
    out = ec2.terminate_instances(InstanceIds=[lone])["TerminatingInstances"]
    assert out[0]["PreviousState"]["Name"] == "running"
    assert out[0]["CurrentState"]["Name"] == "shutting-down"
    s.wait_for(lambda st: any(i["id"] == lone and i["state"] == "Terminated"
                              for i in st["instances"]), what="standalone terminated")
    assert ec2.describe_instances(InstanceIds=[lone])["Reservations"][0]["Instances"][0][
        "State"] == {"Code": 48, "Name": "terminated"}


def test_cloudwatch_actions_with_botocore(sim):
    cw = client(sim, "cloudwatch")
    now = datetime.datetime.now(datetime.timezone.utc)
    cw.put_metric_data(Namespace="Drover", MetricData=[
        {"MetricName": "CheckStatus", "Value": 2, "Unit": "None",
         "Dimensions": [{"Name": "AutoScalingGroupName", "Value": "drover-asg"},
                        {"Name": "Check", "Value": "web"}]},
        {"MetricName": "CheckDuration", "Values": [10, 20], "Counts": [1, 3],
         "Unit": "Milliseconds", "Dimensions": [{"Name": "Check", "Value": "web"}]},
        {"MetricName": "CheckDuration", "StatisticValues": {
            "SampleCount": 2, "Sum": 8, "Minimum": 3, "Maximum": 5},
         "Unit": "Milliseconds", "Dimensions": [{"Name": "Check", "Value": "web"}]}])
    metrics = cw.list_metrics(Namespace="Drover")["Metrics"]
    assert sorted(m["MetricName"] for m in metrics) == ["CheckDuration", "CheckStatus"]
    only = cw.list_metrics(Dimensions=[{"Name": "AutoScalingGroupName"}])["Metrics"]
    assert [m["MetricName"] for m in only] == ["CheckStatus"]
    stats = cw.get_metric_statistics(
        Namespace="Drover", MetricName="CheckDuration",
        Dimensions=[{"Name": "Check", "Value": "web"}],
        StartTime=now - datetime.timedelta(minutes=5),
        EndTime=now + datetime.timedelta(minutes=5), Period=600,
        Statistics=["SampleCount", "Sum", "Maximum", "Minimum", "Average"])
    (point,) = stats["Datapoints"]
    assert (point["SampleCount"], point["Sum"], point["Minimum"], point["Maximum"]) == \
        (6.0, 78.0, 3.0, 20.0)
    assert point["Unit"] == "Milliseconds"
    for bad, code in (({"Namespace": "AWS/EC2", "MetricData": [
                          {"MetricName": "x", "Value": 1}]}, "InvalidParameterValue"),
                      ({"Namespace": "Drover", "MetricData": [
                          {"MetricName": "x", "Value": 1, "Values": [1]}]},
                       "InvalidParameterCombination"),
                      ({"Namespace": "Drover", "MetricData": [
                          {"MetricName": "x", "Value": 1}] * 1001},
                       "InvalidParameterValue")):
        with pytest.raises(ClientError) as e:
            cw.put_metric_data(**bad)
        assert e.value.response["Error"]["Code"] == code


@pytest.mark.slow
def test_every_action_with_aws_cli(sim_factory):
    s = sim_factory(instances=3, time_scale=10, max_size=5)
    a, b, c = s.instance_ids
    s.add_lifecycle_hook("drain", "terminate", heartbeat_timeout=3600)
    s.set_instance(c, health="Unhealthy")
    s.wait_for(lambda st: any(i["id"] == c and i["state"] == "Terminating:Wait"
                              for i in st["instances"]), what="Terminating:Wait")
    g = ["--auto-scaling-group-name", "drover-asg"]
    now = int(time.time())
    commands = [
        ["autoscaling", "describe-auto-scaling-groups", "--auto-scaling-group-names",
         "drover-asg"],
        ["autoscaling", "describe-auto-scaling-instances", "--instance-ids", a],
        ["autoscaling", "describe-scaling-activities", *g],
        ["autoscaling", "set-instance-health", "--instance-id", a, "--health-status",
         "Healthy", "--should-respect-grace-period"],
        ["autoscaling", "terminate-instance-in-auto-scaling-group", "--instance-id", b,
         "--no-should-decrement-desired-capacity"],
        ["autoscaling", "record-lifecycle-action-heartbeat", "--lifecycle-hook-name",
         "drain", *g, "--instance-id", c],
        ["autoscaling", "put-lifecycle-hook", "--lifecycle-hook-name", "boot", *g,
         "--lifecycle-transition", "autoscaling:EC2_INSTANCE_LAUNCHING",
         "--heartbeat-timeout", "300", "--default-result", "CONTINUE"],
        ["autoscaling", "describe-lifecycle-hooks", *g],
        ["autoscaling", "suspend-processes", *g, "--scaling-processes", "AZRebalance"],
        ["autoscaling", "resume-processes", *g, "--scaling-processes", "AZRebalance"],
        ["autoscaling", "create-or-update-tags", "--tags",
         "ResourceId=drover-asg,ResourceType=auto-scaling-group,Key=team,Value=ops,"
         "PropagateAtLaunch=true"],
        ["ec2", "describe-instances", "--instance-ids", a],
        ["cloudwatch", "put-metric-data", "--namespace", "Drover", "--metric-name",
         "InstanceHealthy", "--value", "1", "--dimensions", f"InstanceId={a}"],
        ["cloudwatch", "list-metrics", "--namespace", "Drover"],
        ["cloudwatch", "get-metric-statistics", "--namespace", "Drover", "--metric-name",
         "InstanceHealthy", "--start-time", str(now - 600), "--end-time", str(now + 600),
         "--period", "60", "--statistics", "Sum"],
    ]
    failing = [  # and errors reach it in the shape it parses
        (["autoscaling", "set-instance-health", "--instance-id", "i-0123456789abcdef0",
          "--health-status", "Unhealthy"], {}, "(ValidationError)"),
        (["ec2", "describe-instances"], {"AWS_SECRET_ACCESS_KEY": "wrong" * 8},
         "(SignatureDoesNotMatch)")]
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        bad = [pool.submit(cli, s, *argv, env=env) for argv, env, _ in failing]
        results = list(pool.map(lambda argv: cli(s, *argv), commands))
    for (argv, _, code), future in zip(failing, bad):
        r = future.result()
        assert r.returncode != 0 and code in r.stderr, (argv, r.stderr)
    # these depend on earlier commands (or end the group's state the others read)
    results.append(cli(s, "autoscaling", "complete-lifecycle-action",
                       "--lifecycle-hook-name", "drain", *g, "--instance-id", c,
                       "--lifecycle-action-result", "CONTINUE"))
    results.append(cli(s, "cloudwatch", "get-metric-statistics", "--namespace", "Drover",
                       "--metric-name", "InstanceHealthy", "--dimensions",
                       f"Name=InstanceId,Value={a}", "--start-time", str(now - 600), "--end-time",
                       str(now + 600), "--period", "1200", "--statistics", "Sum"))
    results.append(cli(s, "ec2", "terminate-instances", "--instance-ids", a))
    for argv, r in zip(commands + [["complete"], ["stats"], ["terminate"]], results):
        assert r.returncode == 0, f"{argv}: {r.stderr}"
    out = {" ".join(argv[:2]): r.stdout for argv, r in zip(commands, results)}
    assert json.loads(out["autoscaling describe-auto-scaling-groups"])[
        "AutoScalingGroups"][0]["DesiredCapacity"] == 3
    assert json.loads(out["autoscaling describe-auto-scaling-instances"])[
        "AutoScalingInstances"][0]["InstanceId"] == a
    assert json.loads(out["ec2 describe-instances"])["Reservations"][0]["Instances"][0][
        "InstanceId"] == a
    assert json.loads(out["autoscaling terminate-instance-in-auto-scaling-group"])[
        "Activity"]["Description"] == f"Terminating EC2 instance: {b}"
    assert json.loads(results[-2].stdout)["Datapoints"][0]["Sum"] == 1.0
    assert json.loads(results[-1].stdout)["TerminatingInstances"][0]["InstanceId"] == a
    called = {c["action"] for c in s.calls() if c["verified"] and c["error"] is None}
    assert called >= {"DescribeAutoScalingGroups", "DescribeAutoScalingInstances",
                      "DescribeScalingActivities", "SetInstanceHealth",
                      "TerminateInstanceInAutoScalingGroup", "CompleteLifecycleAction",
                      "RecordLifecycleActionHeartbeat", "PutLifecycleHook",
                      "DescribeLifecycleHooks", "SuspendProcesses", "ResumeProcesses",
                      "CreateOrUpdateTags", "TerminateInstances", "DescribeInstances",
                      "PutMetricData", "ListMetrics", "GetMetricStatistics"}



def test_more_autoscaling_actions_with_botocore(sim_factory):
    s = sim_factory(instances=1, max_size=3, time_scale=100)
    asg = client(s, "autoscaling")
    asg.set_desired_capacity(AutoScalingGroupName="drover-asg", DesiredCapacity=2)
    s.wait_for(lambda st: len([i for i in st["instances"] if i["state"] == "InService"])
               == 2, what="scale-out")
    asg.put_lifecycle_hook(LifecycleHookName="x", AutoScalingGroupName="drover-asg",
                           LifecycleTransition="autoscaling:EC2_INSTANCE_LAUNCHING")
    asg.delete_lifecycle_hook(LifecycleHookName="x", AutoScalingGroupName="drover-asg")
    assert asg.describe_lifecycle_hooks(
        AutoScalingGroupName="drover-asg")["LifecycleHooks"] == []
    asg.create_or_update_tags(Tags=[{"ResourceId": "drover-asg", "Key": "k", "Value": "v",
                                     "ResourceType": "auto-scaling-group",
                                     "PropagateAtLaunch": True}])
    asg.delete_tags(Tags=[{"ResourceId": "drover-asg", "Key": "k",
                           "ResourceType": "auto-scaling-group"}])
    assert asg.describe_auto_scaling_groups()["AutoScalingGroups"][0]["Tags"] == []
    with pytest.raises(ClientError) as e:
        asg.set_desired_capacity(AutoScalingGroupName="drover-asg", DesiredCapacity=9)
    assert e.value.response["Error"]["Code"] == "ValidationError"
    with pytest.raises(ClientError) as e:
        asg.suspend_processes(AutoScalingGroupName="nope")
    assert e.value.response["Error"]["Code"] == "ValidationError"
