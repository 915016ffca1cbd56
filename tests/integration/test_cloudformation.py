"""packaging/cloudformation/drover.yaml: it lints clean, its policy is
packaging/iam-policy.json, its hooks and table are drover's, and every metric its alarms
and dashboard use is one drover really sends (read from a run against the sim)."""
import json
import os
import re
import subprocess
import time

import pytest
import yaml

from conftest import TOP_SRCDIR, require_tool

TEMPLATE = os.path.join(TOP_SRCDIR, "packaging", "cloudformation", "drover.yaml")
IAM_POLICY = os.path.join(TOP_SRCDIR, "packaging", "iam-policy.json")
# tests/run installs the npm registry's cfn-lint globally when it is missing.
CFN_LINT = os.environ.get("CFN_LINT", "/usr/local/bin/cfn-lint")


def template():
    with open(TEMPLATE) as f:
        return yaml.safe_load(f)


def resources(t, kind):
    return {k: v for k, v in t["Resources"].items() if v["Type"] == kind}


# ---- lint ------------------------------------------------------------------------------

def lint(path, params):
    p = subprocess.run([require_tool(CFN_LINT), "validate", path, "--parameters", params],
                       capture_output=True, text=True, timeout=120,
                       env={"PATH": "/usr/local/bin:/usr/bin:/bin", "NO_COLOR": "1",
                            "FORCE_COLOR": "0", "HOME": "/tmp"})
    return p.returncode, re.sub(r"\x1b\[[0-9;]*m", "", p.stdout + p.stderr)


# Every branch of the conditions: lease table on and off, alarm topic given or not.
PARAMS = ["AutoScalingGroupName=web",
          "AutoScalingGroupName=web,CreateLeaseTable=enabled",
          "AutoScalingGroupName=web,CreateLeaseTable=enabled,"
          "AlarmTopicArn=arn:aws:sns:us-east-1:123456789012:ops"]


@pytest.mark.parametrize("params", PARAMS)
def test_template_lints_clean(params):
    rc, out = lint(TEMPLATE, params)
    assert rc == 0, out
    assert "Template valid!" in out and "0 crit" in out and "0 warn" in out, out


def test_the_linter_can_fail(tmp_path):
    """A lint that passes everything proves nothing: a wrong property and a dangling
    reference are caught."""
    with open(TEMPLATE) as f:
        text = f.read()
    for bad in (text.replace("DefaultResult: ABANDON", "DefaultResult: ABANDON\n"
                             "      HeartbeatTimeoutSeconds: 600"),
                text.replace("Fn::GetAtt: [LeaseTable, Arn]", "Fn::GetAtt: [LeaseTabel, Arn]")):
        assert bad != text
        path = tmp_path / "bad.yaml"
        path.write_text(bad)
        rc, out = lint(str(path), PARAMS[1])
        assert rc != 0 and "Template invalid!" in out, out


# ---- the policy ------------------------------------------------------------------------

# iam-policy.json's placeholders and what the stack puts in their place: the comparison
# fills the template's intrinsics in with the placeholders, then wants equality.
PLACEHOLDERS = [
    ({"Ref": "Namespace"}, "Drover"),
    ({"Fn::GetAtt": ["InstanceProfile", "Arn"]},
     "arn:aws:iam::ACCOUNT_ID:instance-profile/drover"),
]


def fill(node):
    for intrinsic, literal in PLACEHOLDERS:
        if node == intrinsic:
            return literal
    if isinstance(node, dict):
        return {k: fill(v) for k, v in node.items()}
    if isinstance(node, list):
        return [fill(v) for v in node]
    return node


def is_dynamodb(statement):
    actions = statement["Action"]
    actions = [actions] if isinstance(actions, str) else actions
    return all(a.startswith("dynamodb:") for a in actions)


def test_policy_equals_iam_policy_json():
    t = template()
    with open(IAM_POLICY) as f:
        want = json.load(f)
    policies = resources(t, "AWS::IAM::Policy")
    main, lease = policies["DroverPolicy"], policies["LeasePolicy"]
    assert main["Properties"]["Roles"] == [{"Ref": "InstanceRole"}]
    assert lease["Properties"]["Roles"] == [{"Ref": "InstanceRole"}]
    assert "Condition" not in main and lease["Condition"] == "UseLeaseTable"
    want_main = dict(want, Statement=[s for s in want["Statement"] if not is_dynamodb(s)])
    assert fill(main["Properties"]["PolicyDocument"]) == want_main
    # The lease table's statements: iam-policy.json gains them with the lease coordination
    # (they are then compared, the table's ARN left aside); until then the template's own
    # must be DynamoDB only, on that one table.
    got_lease = lease["Properties"]["PolicyDocument"]["Statement"]
    for s in got_lease:
        assert is_dynamodb(s) and s["Effect"] == "Allow"
        assert s["Resource"] == {"Fn::GetAtt": ["LeaseTable", "Arn"]}
    want_lease = [s for s in want["Statement"] if is_dynamodb(s)]
    if want_lease:
        strip = [dict(s, Resource=None) for s in want_lease]
        assert [dict(s, Resource=None) for s in got_lease] == strip


def test_role_profile_hooks_and_table():
    t = template()
    (role,) = resources(t, "AWS::IAM::Role").values()
    stmt = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert stmt == [{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"},
                     "Action": "sts:AssumeRole"}]
    assert "Policies" not in role["Properties"] and "ManagedPolicyArns" not in role["Properties"]
    (profile,) = resources(t, "AWS::IAM::InstanceProfile").values()
    assert profile["Properties"]["Roles"] == [{"Ref": "InstanceRole"}]
    hooks = {h["Properties"]["LifecycleTransition"]: h["Properties"]
             for h in resources(t, "AWS::AutoScaling::LifecycleHook").values()}
    params = t["Parameters"]
    launch = hooks["autoscaling:EC2_INSTANCE_LAUNCHING"]
    term = hooks["autoscaling:EC2_INSTANCE_TERMINATING"]
    assert launch["DefaultResult"] == "ABANDON" and term["DefaultResult"] == "CONTINUE"
    # Named like drover's lifecycle_hook_names (DESIGN.md: launch "bootstrap",
    # terminate "drain").
    assert params[launch["LifecycleHookName"]["Ref"]]["Default"] == "bootstrap"
    assert params[term["LifecycleHookName"]["Ref"]]["Default"] == "drain"
    for h in (launch, term):
        assert h["AutoScalingGroupName"] == {"Ref": "AutoScalingGroupName"}
    (table,) = resources(t, "AWS::DynamoDB::Table").values()
    assert table["Condition"] == "UseLeaseTable"
    p = table["Properties"]
    assert p["BillingMode"] == "PAY_PER_REQUEST"
    assert p["KeySchema"] == [{"AttributeName": "fleet", "KeyType": "HASH"},
                              {"AttributeName": "slot", "KeyType": "RANGE"}]
    assert sorted((a["AttributeName"], a["AttributeType"])
                  for a in p["AttributeDefinitions"]) == [("fleet", "S"), ("slot", "N")]
    assert "TimeToLiveSpecification" not in p  # expiry is drover's condition, not TTL
    assert set(params) >= {"AutoScalingGroupName", "Namespace", "AlarmTopicArn",
                           "CreateLeaseTable"}


# ---- the metrics it uses ---------------------------------------------------------------

def template_metrics(t):
    """{(namespace ref, metric name, frozenset(dimension names))} of alarms and dashboard."""
    out = set()
    for a in resources(t, "AWS::CloudWatch::Alarm").values():
        p = a["Properties"]
        metrics = [p] if "MetricName" in p else [
            m["MetricStat"]["Metric"] for m in p["Metrics"] if "MetricStat" in m]
        for m in metrics:
            assert m["Namespace"] == {"Ref": "Namespace"}
            assert all(d["Value"] == {"Ref": "AutoScalingGroupName"} for d in m["Dimensions"])
            out.add((m["MetricName"], frozenset(d["Name"] for d in m["Dimensions"])))
    (dash,) = resources(t, "AWS::CloudWatch::Dashboard").values()
    body = json.loads(dash["Properties"]["DashboardBody"]["Fn::Sub"])
    n_widgets = 0
    for w in body["widgets"]:
        if w["type"] != "metric":
            continue
        n_widgets += 1
        for row in w["properties"]["metrics"]:
            if isinstance(row[0], dict):      # an expression
                expr = row[0]["expression"]
                for ns, dims, name in re.findall(
                        r"SEARCH\('\{([^,}]+),([^}]*)\} MetricName=\"(\w+)\"", expr):
                    assert ns == "${Namespace}"
                    out.add((name, frozenset(dims.split(","))))
                continue
            ns, name, *rest = row
            if isinstance(rest[-1], dict):
                rest = rest[:-1]
            assert ns == "${Namespace}"
            assert all(v == "${AutoScalingGroupName}" for v in rest[1::2])
            out.add((name, frozenset(rest[0::2])))
    assert n_widgets >= 4
    return out


def sent_metrics(calls):
    out = set()
    for c in calls:
        members = {}
        for k, v in c["params"].items():
            m = re.match(r"MetricData\.member\.(\d+)\.(MetricName|Dimensions\.member\.\d+\.Name)$",
                         k)
            if m:
                members.setdefault(m.group(1), {"dims": set()})
                if m.group(2) == "MetricName":
                    members[m.group(1)]["name"] = v
                else:
                    members[m.group(1)]["dims"].add(v)
        out |= {(x["name"], frozenset(x["dims"])) for x in members.values()}
    return out


def test_metrics_are_what_drover_sends(daemon_factory):
    """One instance's life against the sim: a CloudWatch outage that costs data points,
    a failing check remediated, a replacement held back by the fleet guard, then let go,
    and the group's terminate hook. Every metric and dimension set of the template must
    be in what drover put."""
    used = template_metrics(template())
    assert {n for n, _ in used} >= {"InstanceHealthy", "ReplacementDeferred",
                                    "MetricsDropped"}
    # Real time: the group keeps the instance (Terminating:Wait) while its hook runs.
    d = daemon_factory(instances=2, time_scale=1, extra_args=["--lifecycle-hook",
                                                "drain:terminate:30:CONTINUE"])
    hook = os.path.join(d.hooks_dir, "terminate", "10-drain")
    os.makedirs(os.path.dirname(hook), exist_ok=True)
    with open(hook, "w") as f:
        f.write("#!/bin/sh\nexit 0\n")
    os.chmod(hook, 0o755)
    d.start(checks=[d.restart_unit_check("web")],
            metrics={"high_resolution": True, "buffer_max": 40},
            policy={"max_unhealthy": 0},
            hooks={"poll_interval": 0.5, "heartbeat_interval": 1,
                   "lifecycle_hook_names": {"terminate": "drain", "launch": ""}})
    d.wait_ready()

    def sent():
        return sent_metrics(c for c in d.calls("PutMetricData") if c["status"] == 200)
    d.wait_for(lambda: ("InstanceHealthy", frozenset({"AutoScalingGroupName"})) in sent(),
               15, "InstanceHealthy")
    d.sim.fault("aws", path="PutMetricData", kind="status", status=503)
    d.wait_for(lambda: d.status()["metrics"]["dropped"] > 0, 30, "data points dropped")
    d.sim.clear_faults()
    d.wait_for(lambda: ("MetricsDropped", frozenset({"AutoScalingGroupName"})) in sent(),
               20, "MetricsDropped")
    d.set_failing("web")
    d.wait_for(lambda: d.decision()["reason"] == "fleet-guard", 20, "held by the guard")
    d.write_config(policy={"max_unhealthy": 1})
    d.reload()
    d.wait_for(d.replacements, 20, "the replacement")
    d.wait_for(lambda: d.calls("CompleteLifecycleAction"), 30, "the terminate hook")
    # The instance is on its way out: drover's stop sends what it still holds.
    assert d.stop() == 0
    want = {("ReplacementDeferred", frozenset({"AutoScalingGroupName"})),
            ("ReplacementRequested", frozenset({"AutoScalingGroupName"})),
            ("RemediationAttempted", frozenset({"AutoScalingGroupName"})),
            ("LifecycleHookRun", frozenset({"AutoScalingGroupName"}))}
    assert want <= sent(), want - sent()
    assert all(c["params"]["Namespace"] == template()["Parameters"]["Namespace"]["Default"]
               for c in d.calls("PutMetricData"))
    time.sleep(0.5)
    missing = used - sent()
    assert not missing, f"the template uses metrics drover never sent: {missing}"
