"""Fault injection on the AWS endpoint, and hostile requests the sim must survive."""
import http.client
import time
import urllib.parse

import pytest
from botocore.exceptions import ClientError, ConnectionClosedError
from botocore.parsers import ResponseParserError

from awshelp import client, signed_post


def _err(excinfo):
    r = excinfo.value.response
    return r["Error"]["Code"], r["ResponseMetadata"]["HTTPStatusCode"]


def test_throttle_per_service(sim):
    sim.fault("aws", kind="throttle", count=2)
    with pytest.raises(ClientError) as e:
        client(sim, "autoscaling").describe_auto_scaling_groups()
    assert _err(e) == ("Throttling", 400)
    with pytest.raises(ClientError) as e:
        client(sim, "ec2").describe_instances()
    assert _err(e) == ("RequestLimitExceeded", 503)
    client(sim, "ec2").describe_instances()     # count exhausted


def test_fault_by_action_until_cleared(sim):
    sim.fault("aws", path="PutMetricData", kind="status", status=500)
    cw = client(sim, "cloudwatch")
    for _ in range(2):
        with pytest.raises(ClientError) as e:
            cw.put_metric_data(Namespace="D", MetricData=[{"MetricName": "m", "Value": 1}])
        assert _err(e) == ("InternalFailure", 500)
    cw.list_metrics()                           # other actions unaffected
    assert sim.state()["faults"][0]["hits"] == 2
    sim.clear_faults()
    cw.put_metric_data(Namespace="D", MetricData=[{"MetricName": "m", "Value": 1}])


def test_status_fault_with_an_aws_code(sim):
    """A permission that is missing, as AWS says it: the code and message reach clients."""
    sim.fault("aws", path="SetInstanceHealth", kind="status", status=403, code="AccessDenied",
              message="User is not authorized to perform: autoscaling:SetInstanceHealth")
    asg = client(sim, "autoscaling")
    with pytest.raises(ClientError) as e:
        asg.set_instance_health(InstanceId=sim.instance_ids[0], HealthStatus="Unhealthy")
    assert _err(e) == ("AccessDenied", 403)
    assert "not authorized" in e.value.response["Error"]["Message"]
    asg.describe_auto_scaling_groups()          # other actions unaffected
    with pytest.raises(Exception):
        sim.fault("aws", kind="status", code="no spaces allowed")


def test_error_shapes_and_html_with_aws_cli(sim):
    """moto's ErrorResponse/Errors/Error and a proxy's HTML page, as the AWS CLI sees them."""
    from awshelp import cli
    sim.fault("aws", path="DescribeAutoScalingGroups", kind="status", status=500,
              shape="errors", count=1)
    p = cli(sim, "autoscaling", "describe-auto-scaling-groups",
            env={"AWS_MAX_ATTEMPTS": "1"})
    assert p.returncode != 0 and "(InternalFailure)" in p.stderr, p.stderr
    sim.fault("aws", path="DescribeAutoScalingGroups", kind="html", status=502, count=1)
    p = cli(sim, "autoscaling", "describe-auto-scaling-groups",
            env={"AWS_MAX_ATTEMPTS": "1"})
    assert p.returncode != 0 and "502" in p.stderr, p.stderr
    assert [c["error"] for c in sim.calls("DescribeAutoScalingGroups")] == \
        ["InternalFailure", "fault:html"]
    assert cli(sim, "autoscaling", "describe-auto-scaling-groups").returncode == 0
    with pytest.raises(Exception):
        sim.fault("aws", kind="status", shape="nope")


def test_unavailable(sim):
    sim.fault("aws", kind="status", status=503, count=1)
    with pytest.raises(ClientError) as e:
        client(sim, "autoscaling").describe_auto_scaling_groups()
    assert _err(e) == ("ServiceUnavailable", 503)


def test_drop_garbage_truncate_latency(sim):
    asg = client(sim, "autoscaling")
    sim.fault("aws", kind="drop", count=1)
    with pytest.raises(ConnectionClosedError):
        asg.describe_auto_scaling_groups()
    sim.fault("aws", kind="garbage", count=1)
    with pytest.raises(ResponseParserError):
        asg.describe_auto_scaling_groups()
    sim.fault("aws", kind="truncate", count=1)
    with pytest.raises(Exception) as e:
        asg.describe_auto_scaling_groups()
    assert "IncompleteRead" in repr(e.value) or "ResponseParserError" in repr(e.value) \
        or "ProtocolError" in repr(e.value)
    sim.fault("aws", kind="latency", seconds=0.4, count=1)
    t0 = time.monotonic()
    asg.describe_auto_scaling_groups()
    assert time.monotonic() - t0 >= 0.4
    asg.describe_auto_scaling_groups()
    assert [c.get("error") for c in sim.calls()[:3]] == \
        ["fault:drop", "fault:garbage", "fault:truncate"]


def test_bad_fault_spec_rejected(sim):
    from simfixture import SimError
    with pytest.raises(SimError) as e:
        sim.fault("nope", kind="status")
    assert e.value.status == 400
    with pytest.raises(SimError):
        sim.fault("aws", kind="explode")


@pytest.mark.parametrize("body,gz", [
    ("Action=NoSuchAction&Version=2011-01-01", False),
    ("Action=SetInstanceHealth&Version=2011-01-01", False),      # required params missing
    ("Action=SetInstanceHealth&InstanceId=i-1&HealthStatus=x&ShouldRespectGracePeriod=maybe",
     False),
    ("Action=DescribeAutoScalingGroups&AutoScalingGroupNames.member.1=%ff%fe", False),
    ("\x00\x01garbage=&&&==", False),
    ("Action=DescribeAutoScalingGroups&MaxRecords=notanumber", False),
])
def test_hostile_query_bodies_get_errors_not_crashes(sim, body, gz):
    status, text = signed_post(sim, "autoscaling", body, gzip_body=gz)
    assert 400 <= status < 500, text
    assert "<ErrorResponse" in text
    client(sim, "autoscaling").describe_auto_scaling_groups()    # still serving


def test_bad_gzip_and_oversized_bodies(sim):
    def ungzip(req):
        req.data = b"not gzip at all"
    status, text = signed_post(sim, "cloudwatch", "Action=ListMetrics&Version=2010-08-01",
                               gzip_body=True, tamper=ungzip)
    assert status == 403        # the signature covered the real bytes
    url = urllib.parse.urlsplit(sim.aws_url)
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=10)
    conn.putrequest("POST", "/")
    conn.putheader("Content-Length", str(64 * 1024 * 1024))
    conn.endheaders()
    resp = conn.getresponse()
    assert resp.status == 413
    conn.close()
    client(sim, "autoscaling").describe_auto_scaling_groups()


def test_calls_log_records_params_and_verification(sim):
    client(sim, "autoscaling").describe_auto_scaling_instances(
        InstanceIds=sim.instance_ids)
    (call,) = sim.calls("DescribeAutoScalingInstances")
    assert call["service"] == "autoscaling" and call["verified"] is True
    assert call["params"]["InstanceIds.member.1"] == sim.instance_ids[0]
