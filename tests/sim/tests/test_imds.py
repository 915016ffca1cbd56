"""IMDSv2 token rules and the metadata tree."""
import json
import time

import pytest

from imdsclient import get, request, token
from simfixture import Sim

TTL = "X-aws-ec2-metadata-token-ttl-seconds"


@pytest.fixture(scope="module")
def shared(tmp_path_factory):
    """One sim for the tests that only read (starting one per case costs time)."""
    with Sim(tmp_path_factory.mktemp("sim")) as s:
        yield s


@pytest.mark.parametrize("ttl,status", [
    ("1", 200), ("21600", 200), ("60", 200),
    ("0", 400), ("21601", 400), ("-5", 400), ("abc", 400), ("", 400), (None, 400),
])
def test_token_ttl_range(shared, ttl, status):
    headers = {} if ttl is None else {TTL: ttl}
    got, body, hdrs = request(shared.imds_url(), "PUT", "/latest/api/token", headers)
    assert got == status
    if status == 200:
        assert len(body) > 20
        assert hdrs["x-aws-ec2-metadata-token-ttl-seconds"] == ttl


def test_token_refused_with_x_forwarded_for(shared):
    status, body, _ = request(shared.imds_url(), "PUT", "/latest/api/token",
                              {TTL: "60", "X-Forwarded-For": "10.1.2.3"})
    assert status == 403
    assert body == ""


def test_get_without_token_is_401_when_v1_disabled(shared):
    status, _, _ = request(shared.imds_url(), "GET", "/latest/meta-data/instance-id")
    assert status == 401


def test_get_without_token_allowed_when_v1_enabled(sim_factory):
    s = sim_factory(extra_args=["--imds-v1"])
    status, body, _ = request(s.imds_url(), "GET", "/latest/meta-data/instance-id")
    assert (status, body) == (200, s.instance_ids[0])
    s.control("POST", "/imds/v1", {"enabled": False})
    assert request(s.imds_url(), "GET", "/latest/meta-data/instance-id")[0] == 401


def test_invalid_token_is_401(shared):
    status, _, _ = get(shared.imds_url(), "/latest/meta-data/instance-id", "not-a-token")
    assert status == 401


def test_token_expires(sim):
    tok = token(sim.imds_url(), ttl=1)
    status, body, hdrs = get(sim.imds_url(), "/latest/meta-data/instance-id", tok)
    assert status == 200 and body == sim.instance_ids[0]
    assert int(hdrs["x-aws-ec2-metadata-token-ttl-seconds"]) <= 1
    time.sleep(1.1)
    assert get(sim.imds_url(), "/latest/meta-data/instance-id", tok)[0] == 401


def test_control_expires_tokens(sim):
    tok = token(sim.imds_url())
    assert get(sim.imds_url(), "/latest/meta-data/instance-id", tok)[0] == 200
    sim.control("POST", "/imds/expire-tokens", {})
    assert get(sim.imds_url(), "/latest/meta-data/instance-id", tok)[0] == 401


def test_token_of_one_instance_is_invalid_on_another(sim_factory):
    s = sim_factory(instances=2)
    a, b = s.instance_ids
    tok = token(s.imds_url(a))
    assert get(s.imds_url(a), "/latest/meta-data/instance-id", tok) [:2] == (200, a)
    assert get(s.imds_url(b), "/latest/meta-data/instance-id", tok)[0] == 401
    assert get(s.imds_url(b), "/latest/meta-data/instance-id", token(s.imds_url(b)))[:2] \
        == (200, b)


def test_token_path_wrong_method(shared):
    assert request(shared.imds_url(), "GET", "/latest/api/token")[0] == 405
    assert request(shared.imds_url(), "POST", "/latest/meta-data/", {})[0] == 405


def test_unknown_path_404(shared):
    tok = token(shared.imds_url())
    for path in ("/latest/meta-data/nope", "/latest/meta-data/spot/instance-action",
                 "/latest/meta-data/events/recommendations/rebalance", "/nope",
                 "/latest/meta-data/instance-id/extra"):
        assert get(shared.imds_url(), path, tok)[0] == 404, path


def test_directory_listings(shared):
    tok = token(shared.imds_url())
    status, body, _ = get(shared.imds_url(), "/latest/meta-data/", tok)
    assert status == 200
    entries = body.split("\n")
    for want in ("instance-id", "instance-type", "ami-id", "local-ipv4",
                 "instance-life-cycle", "placement/", "iam/", "autoscaling/", "events/",
                 "tags/"):
        assert want in entries
    assert get(shared.imds_url(), "/latest/meta-data/placement", tok)[1].split("\n") == \
        ["availability-zone", "availability-zone-id", "region"]
    assert get(shared.imds_url(), "/latest/", tok)[1].split("\n") == ["dynamic", "meta-data"]


def test_metadata_values(shared):
    tok = token(shared.imds_url())
    iid = shared.instance_ids[0]

    def val(path):
        status, body, _ = get(shared.imds_url(), "/latest/" + path, tok)
        assert status == 200, path
        return body
    assert val("meta-data/instance-id") == iid
    assert val("meta-data/instance-life-cycle") == "on-demand"
    assert val("meta-data/placement/region") == "us-east-1"
    assert val("meta-data/placement/availability-zone").startswith("us-east-1")
    assert val("meta-data/autoscaling/target-lifecycle-state") == "InService"
    assert val("meta-data/tags/instance/aws:autoscaling:groupName") == "drover-asg"
    assert val("meta-data/events/maintenance/scheduled") == "[]"
    role = val("meta-data/iam/security-credentials/")
    creds = json.loads(val("meta-data/iam/security-credentials/" + role))
    assert creds["Code"] == "Success" and creds["Type"] == "AWS-HMAC"
    assert creds["AccessKeyId"].startswith("ASIA") and creds["Token"]
    assert json.loads(val("meta-data/iam/info"))["InstanceProfileArn"].endswith(role)
    doc = json.loads(val("dynamic/instance-identity/document"))
    assert doc["instanceId"] == iid and doc["region"] == "us-east-1"
    assert doc["accountId"] == "123456789012"


def test_tags_can_be_disabled(sim_factory):
    s = sim_factory(tags_in_imds=False, spot=True)
    tok = token(s.imds_url())
    assert get(s.imds_url(), "/latest/meta-data/tags/instance/", tok)[0] == 404
    assert get(s.imds_url(), "/latest/meta-data/instance-life-cycle", tok)[1] == "spot"


def test_spot_rebalance_scheduled_events(sim):
    iid = sim.instance_ids[0]
    tok = token(sim.imds_url())
    sim.set_instance(iid, spot_action={"action": "terminate", "in": 120}, rebalance=True,
                     scheduled_events=[{"code": "system-reboot", "in": 3600}])
    status, body, _ = get(sim.imds_url(), "/latest/meta-data/spot/instance-action", tok)
    assert status == 200 and json.loads(body)["action"] == "terminate"
    status, body, _ = get(sim.imds_url(), "/latest/meta-data/spot/termination-time", tok)
    assert status == 200 and body.endswith("Z")
    body = get(sim.imds_url(), "/latest/meta-data/events/recommendations/rebalance", tok)[1]
    assert "noticeTime" in json.loads(body)
    events = json.loads(get(sim.imds_url(), "/latest/meta-data/events/maintenance/scheduled",
                            tok)[1])
    assert events[0]["Code"] == "system-reboot" and events[0]["State"] == "active"
    sim.set_instance(iid, spot_action=None, rebalance=False)
    assert get(sim.imds_url(), "/latest/meta-data/spot/instance-action", tok)[0] == 404


def test_moving_notices_change_times_per_request(sim):
    """The knob that makes the sim behave as amazon-ec2-metadata-mock does by default."""
    iid = sim.instance_ids[0]
    tok = token(sim.imds_url())
    spot, reb = "/latest/meta-data/spot/instance-action", \
        "/latest/meta-data/events/recommendations/rebalance"
    sim.set_instance(iid, spot_action={"action": "stop", "in": 60}, rebalance=True)

    def times():
        return json.loads(get(sim.imds_url(), spot, tok)[1])["time"], \
            json.loads(get(sim.imds_url(), reb, tok)[1])["noticeTime"]
    first = times()
    time.sleep(1.1)
    assert times() == first                 # real IMDS: stable
    sim.control("POST", "/imds/moving-notices", {"enabled": True})
    moved = times()
    time.sleep(1.1)
    again = times()
    assert moved[0] != again[0] and moved[1] != again[1]
    assert json.loads(get(sim.imds_url(), spot, tok)[1])["action"] == "stop"
    sim.control("POST", "/imds/moving-notices", {"enabled": False})
    assert times() == first


def test_target_lifecycle_state_follows_override(sim):
    iid = sim.instance_ids[0]
    tok = token(sim.imds_url())
    sim.set_instance(iid, target_lifecycle_state="Terminated")
    assert get(sim.imds_url(), "/latest/meta-data/autoscaling/target-lifecycle-state",
               tok)[1] == "Terminated"


def test_credentials_rotate(sim):
    tok = token(sim.imds_url())
    path = "/latest/meta-data/iam/security-credentials/drover-sim-role"
    first = json.loads(get(sim.imds_url(), path, tok)[1])
    sim.control("POST", "/credentials/rotate", {})
    second = json.loads(get(sim.imds_url(), path, tok)[1])
    assert first["AccessKeyId"] != second["AccessKeyId"]


@pytest.mark.parametrize("kind,expect", [
    ("status", 503), ("throttle", 429), ("drop", None), ("garbage", 200),
    ("truncate", "short"),
])
def test_imds_faults(sim, kind, expect):
    import http.client
    tok = token(sim.imds_url())
    sim.fault("imds", path="/latest/meta-data/instance-id", kind=kind, count=1)
    try:
        status, body, _ = get(sim.imds_url(), "/latest/meta-data/instance-id", tok)
    except (ConnectionError, http.client.HTTPException) as e:
        status, body = None, repr(e)
    if expect == "short":
        assert status is None and "IncompleteRead" in body
    elif expect is None:
        assert status is None
    else:
        assert status == expect
        if kind == "garbage":
            assert body != sim.instance_ids[0]
    # the fault was for one request only
    assert get(sim.imds_url(), "/latest/meta-data/instance-id", tok)[:2] == \
        (200, sim.instance_ids[0])


def test_imds_latency_fault_until_cleared(sim):
    tok = token(sim.imds_url())
    sim.fault("imds", kind="latency", seconds=0.3)
    for _ in range(2):
        t0 = time.monotonic()
        assert get(sim.imds_url(), "/latest/meta-data/instance-id", tok)[0] == 200
        assert time.monotonic() - t0 >= 0.3
    sim.clear_faults()
    t0 = time.monotonic()
    get(sim.imds_url(), "/latest/meta-data/instance-id", tok)
    assert time.monotonic() - t0 < 0.3


def test_instance_header_selects_instance(sim_factory):
    s = sim_factory(instances=2)
    a, b = s.instance_ids
    status, body, _ = request(s.imds_url(a), "PUT", "/latest/api/token",
                              {TTL: "60", "X-Sim-Instance-Id": b})
    assert status == 200
    assert request(s.imds_url(a), "GET", "/latest/meta-data/instance-id",
                   {"X-aws-ec2-metadata-token": body, "X-Sim-Instance-Id": b})[1] == b


def test_standalone_instance_has_no_group_metadata(sim_factory):
    s = sim_factory(extra_args=["--standalone", "1"])
    (lone,) = s.standalone_ids
    url = f"http://127.0.0.1:{s.instance(lone)['imds_port']}"
    tok = token(url)
    assert get(url, "/latest/meta-data/instance-id", tok)[1] == lone
    assert get(url, "/latest/meta-data/autoscaling/target-lifecycle-state", tok)[0] == 404
    assert "aws:autoscaling:groupName" not in \
        get(url, "/latest/meta-data/tags/instance/", tok)[1].split("\n")
