"""SigV4 verification against botocore-signed requests, and the real error shapes."""
import json
import time

import pytest
from botocore.exceptions import ClientError
from botocore.utils import InstanceMetadataFetcher

from awshelp import client, signed_post

DESCRIBE = "Action=DescribeAutoScalingGroups&Version=2011-01-01"


def _code(excinfo):
    err = excinfo.value.response
    return err["Error"]["Code"], err["ResponseMetadata"]["HTTPStatusCode"]


def test_static_credentials_verified(sim):
    out = client(sim, "autoscaling").describe_auto_scaling_groups()
    assert out["AutoScalingGroups"][0]["AutoScalingGroupName"] == "drover-asg"
    call = sim.calls("DescribeAutoScalingGroups")[-1]
    assert call["verified"] is True and call["error"] is None
    assert call["access_key"] == sim.static_credentials[0]


def test_tampered_signature_rejected(sim):
    def flip(req):
        auth = req.headers["Authorization"]
        last = auth[-1]
        req.headers.replace_header("Authorization", auth[:-1] + ("0" if last != "0" else "1"))
    status, body = signed_post(sim, "autoscaling", DESCRIBE, tamper=flip)
    assert status == 403
    assert "<Code>SignatureDoesNotMatch</Code>" in body and "<ErrorResponse" in body
    assert sim.calls("DescribeAutoScalingGroups")[-1]["verified"] is False


def test_tampered_body_rejected(sim):
    def change(req):
        req.data = req.data.replace(b"2011-01-01", b"2011-01-02")
    status, body = signed_post(sim, "autoscaling", DESCRIBE, tamper=change)
    assert status == 403 and "SignatureDoesNotMatch" in body


def test_wrong_secret_rejected_by_real_client(sim):
    with pytest.raises(ClientError) as e:
        client(sim, "autoscaling", secret="x" * 40).describe_auto_scaling_groups()
    assert _code(e) == ("SignatureDoesNotMatch", 403)


@pytest.mark.parametrize("service,code,status", [
    ("autoscaling", "InvalidClientTokenId", 403), ("ec2", "AuthFailure", 401),
])
def test_unknown_access_key(sim, service, code, status):
    c = client(sim, service, key="AKIAUNKNOWNUNKNOWN00")
    with pytest.raises(ClientError) as e:
        if service == "ec2":
            c.describe_instances()
        else:
            c.describe_auto_scaling_groups()
    assert _code(e) == (code, status)


def test_missing_signature(sim):
    import urllib.error
    import urllib.request
    req = urllib.request.Request(sim.aws_url + "/", data=DESCRIBE.encode(), method="POST")
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(req, timeout=10)
    assert e.value.code == 403
    assert "<Code>MissingAuthenticationToken</Code>" in e.value.read().decode()


@pytest.mark.parametrize("skew", [-900, 900])
def test_clock_skew(sim, skew):
    sim.control("POST", "/clock", {"skew": skew})
    with pytest.raises(ClientError) as e:
        client(sim, "autoscaling").describe_auto_scaling_groups()
    assert _code(e) == ("SignatureDoesNotMatch", 403)
    msg = e.value.response["Error"]["Message"]
    assert msg.startswith("Signature expired" if skew > 0 else "Signature not yet current")
    with pytest.raises(ClientError) as e:
        client(sim, "ec2").describe_instances()
    assert _code(e) == ("RequestExpired", 400)
    sim.control("POST", "/clock", {"skew": 120})    # within the 5 minutes AWS allows
    client(sim, "autoscaling").describe_auto_scaling_groups()


def _imds_creds(sim, iid=None):
    fetcher = InstanceMetadataFetcher(timeout=5, num_attempts=1, env={},
                                      base_url=sim.imds_url(iid))
    creds = fetcher.retrieve_iam_role_credentials()
    assert creds, "botocore's IMDS fetcher got no credentials"
    return creds


def test_botocore_imds_fetcher_gets_working_credentials(sim):
    creds = _imds_creds(sim)
    assert creds["role_name"] == "drover-sim-role"
    assert creds["access_key"].startswith("ASIA") and creds["token"]
    c = client(sim, "autoscaling", creds["access_key"], creds["secret_key"], creds["token"])
    c.describe_auto_scaling_instances()
    call = sim.calls("DescribeAutoScalingInstances")[-1]
    assert call["verified"] and call["instance"] == sim.instance_ids[0]


def test_role_credentials_need_their_token(sim):
    creds = _imds_creds(sim)
    c = client(sim, "autoscaling", creds["access_key"], creds["secret_key"], "bogus")
    with pytest.raises(ClientError) as e:
        c.describe_auto_scaling_groups()
    assert _code(e) == ("InvalidClientTokenId", 403)
    c = client(sim, "autoscaling", creds["access_key"], creds["secret_key"])
    with pytest.raises(ClientError) as e:
        c.describe_auto_scaling_groups()
    assert _code(e) == ("InvalidClientTokenId", 403)


def test_expired_role_credentials(sim):
    creds = _imds_creds(sim)
    sim.control("POST", "/credentials/expire", {"reissue": True})
    for service, code, status in (("autoscaling", "ExpiredToken", 403),
                                  ("ec2", "RequestExpired", 400)):
        c = client(sim, service, creds["access_key"], creds["secret_key"], creds["token"])
        with pytest.raises(ClientError) as e:
            c.describe_instances() if service == "ec2" else c.describe_auto_scaling_groups()
        assert _code(e) == (code, status)
    fresh = _imds_creds(sim)
    assert fresh["access_key"] != creds["access_key"]
    client(sim, "ec2", fresh["access_key"], fresh["secret_key"],
           fresh["token"]).describe_instances()


def test_credentials_expire_on_the_wall_clock(sim):
    sim.control("POST", "/credentials/rotate", {"ttl": 1})
    creds = _imds_creds(sim)
    c = client(sim, "autoscaling", creds["access_key"], creds["secret_key"], creds["token"])
    c.describe_auto_scaling_groups()
    time.sleep(1.1)
    with pytest.raises(ClientError) as e:
        c.describe_auto_scaling_groups()
    assert _code(e) == ("ExpiredToken", 403)


def test_gzip_body_signed_over_compressed_bytes(sim):
    body = ("Action=PutMetricData&Version=2010-08-01&Namespace=Drover"
            "&MetricData.member.1.MetricName=Zipped&MetricData.member.1.Value=7")
    status, text = signed_post(sim, "cloudwatch", body, gzip_body=True)
    assert status == 200, text
    assert "<PutMetricDataResponse" in text
    call = sim.calls("PutMetricData")[-1]
    assert call["verified"] and call["gzip"]
    names = [m["MetricName"] for m in client(sim, "cloudwatch").list_metrics()["Metrics"]]
    assert names == ["Zipped"]


def test_wrong_region_scope_rejected(sim):
    c = client(sim, "autoscaling")
    c.meta.config.region_name  # noqa: B018
    import botocore.session
    other = botocore.session.Session().create_client(
        "autoscaling", region_name="eu-west-1", endpoint_url=sim.aws_url,
        aws_access_key_id=sim.static_credentials[0],
        aws_secret_access_key=sim.static_credentials[1])
    with pytest.raises(ClientError) as e:
        other.describe_auto_scaling_groups()
    assert _code(e) == ("SignatureDoesNotMatch", 403)


def test_curl_aws_sigv4_with_large_body(sim):
    """libcurl's own SigV4 signer (what a C client may use), with a body big enough
    for curl to send `Expect: 100-continue`."""
    import shutil
    import subprocess
    if not shutil.which("curl"):
        pytest.skip("curl is not installed")
    data = "Action=PutMetricData&Version=2010-08-01&Namespace=Drover" + "".join(
        f"&MetricData.member.{i}.MetricName=M{i}&MetricData.member.{i}.Value={i}"
        for i in range(1, 60))
    assert len(data) > 2048
    key, secret = sim.static_credentials
    r = subprocess.run(["curl", "-sS", "--aws-sigv4", f"aws:amz:{sim.region}:monitoring",
                        "--user", f"{key}:{secret}", "-H",
                        "Content-Type: application/x-www-form-urlencoded",
                        "--data-binary", data, "-w", "\n%{http_code}", sim.aws_url + "/"],
                       capture_output=True, text=True, timeout=30)
    body, _, code = r.stdout.rpartition("\n")
    assert code == "200", r.stdout + r.stderr
    assert "<PutMetricDataResponse" in body
    assert len(client(sim, "cloudwatch").list_metrics()["Metrics"]) == 59


def test_imds_renews_credentials_before_expiry(sim_factory):
    s = sim_factory(extra_args=["--credential-ttl", "2"])
    first = _imds_creds(s)
    time.sleep(1.2)         # past half the lifetime: IMDS offers a new set
    second = _imds_creds(s)
    assert second["access_key"] != first["access_key"]
    c = client(s, "autoscaling", first["access_key"], first["secret_key"], first["token"])
    c.describe_auto_scaling_groups()            # the old set is still valid until expiry


def test_expire_without_reissue_serves_expired_credentials(sim):
    first = _imds_creds(sim)
    sim.control("POST", "/credentials/expire", {"reissue": False})
    from imdsclient import get, token
    url = sim.imds_url()
    doc = json.loads(get(url, "/latest/meta-data/iam/security-credentials/drover-sim-role",
                         token(url))[1])
    assert doc["AccessKeyId"] == first["access_key"]
    assert doc["Expiration"] < time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
