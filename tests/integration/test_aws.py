"""The AWS client against tests/sim: signed calls, credentials, retries, skew, metrics.

Most tests drive tests/unit/aws-call (one client in one process, commands on stdin, one
JSON line out per command); test_aws_test_* run the real `drover aws-test`.
"""
import json
import os
import subprocess
import time

import pytest

DRIVER = os.path.join(os.environ.get("top_builddir") or
                      os.path.join(os.path.dirname(__file__), "..", "..", "build"),
                      "tests", "unit", "aws-call")
ENOKEY, EACCES, EREMOTEIO, EAGAIN = 126, 13, 121, 11


class Driver:
    def __init__(self, sim, *, imds=True, env=None, buffer_max=None, max_attempts=None):
        if not os.access(DRIVER, os.X_OK):
            pytest.fail(f"test driver not built: {DRIVER}")
        args = [DRIVER, "--region", sim.region, "--endpoint", sim.aws_url]
        if imds:
            args += ["--imds", sim.imds_url()]
        if buffer_max is not None:
            args += ["--buffer-max", str(buffer_max)]
        if max_attempts is not None:
            args += ["--max-attempts", str(max_attempts)]
        e = {"PATH": "/usr/bin:/bin"}
        for k in ("ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS"):
            if k in os.environ:
                e[k] = os.environ[k]
        e.update(env or {})
        self.proc = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     text=True, env=e)

    def __call__(self, *words):
        self.proc.stdin.write(" ".join(str(w) for w in words) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        assert line, f"driver died on {words!r} (exit {self.proc.poll()})"
        return json.loads(line)

    def close(self):
        self.proc.stdin.close()
        assert self.proc.wait(timeout=30) == 0


@pytest.fixture
def driver():
    drivers = []

    def make(sim, **kw):
        d = Driver(sim, **kw)
        drivers.append(d)
        return d
    yield make
    for d in drivers:
        d.close()


def ok(answer):
    assert answer["error"] == 0, answer
    return answer


def test_every_call_is_signed_and_verified(sim_factory, driver):
    sim = sim_factory(instances=3, time_scale=20)
    sim.add_lifecycle_hook("drain", "terminate", heartbeat_timeout=600)
    a, b, c = sim.instance_ids
    d = driver(sim)

    got = ok(d("describe-instance", a))["instance"]
    assert got["instance_id"] == a and got["group"] == sim.asg_name
    assert got["health"] == "Healthy" and got["lifecycle_state"] == "InService"
    group = ok(d("describe-group", sim.asg_name))
    assert group["name"] == sim.asg_name and group["desired"] == 3
    assert sorted(i["instance_id"] for i in group["instances"]) == sorted([a, b, c])
    ok(d("set-health", a, "Healthy"))
    ok(d("terminate-in-asg", b))
    sim.wait_for(lambda s: any(i["id"] == b and i["state"] == "Terminating:Wait"
                               for i in s["instances"]), what="Terminating:Wait")
    ok(d("heartbeat", sim.asg_name, "drain", b))
    ok(d("complete", sim.asg_name, "drain", b, "CONTINUE"))
    acts = ok(d("activities", sim.asg_name, 0))["activities"]
    assert any(b in x["description"] for x in acts)
    ok(d("ec2-terminate", c))
    assert d("record", 10)["recorded"] == 10
    assert d("flush")["sent"] == 1

    calls = sim.calls()
    actions = {x["action"] for x in calls}
    assert actions >= {"DescribeAutoScalingInstances", "DescribeAutoScalingGroups",
                       "DescribeScalingActivities", "SetInstanceHealth",
                       "TerminateInstanceInAutoScalingGroup", "RecordLifecycleActionHeartbeat",
                       "CompleteLifecycleAction", "TerminateInstances", "PutMetricData"}
    assert all(x["verified"] and x["error"] is None for x in calls), calls
    # signed with the instance role handed out by IMDS, not the static pair
    assert {x["access_key"] for x in calls} != {sim.static_credentials[0]}
    assert all(x["access_key"].startswith("ASIA") for x in calls)


def test_instance_outside_any_group_is_proven_absent(sim_factory, driver):
    sim = sim_factory(extra_args=["--standalone", "1"])
    lone = sim.standalone_ids[0]
    answer = ok(driver(sim)("describe-instance", lone))
    assert answer["instance"] is None


def test_environment_credentials_take_precedence(sim, driver):
    key, secret = sim.static_credentials
    d = driver(sim, env={"AWS_ACCESS_KEY_ID": key, "AWS_SECRET_ACCESS_KEY": secret})
    ok(d("describe-instance", sim.instance_ids[0]))
    assert d("creds")["source"] == "environment"
    calls = sim.calls()
    assert calls and all(x["access_key"] == key and x["verified"] for x in calls)
    assert not [c for c in sim.imds_calls() if "security-credentials" in c["path"]]


def test_calls_wait_for_one_credentials_fetch(sim, driver):
    iid = sim.instance_ids[0]
    d = driver(sim)
    assert d("parallel", 8, iid) == {"error": 0, "strerror": "", "ok": 8}
    fetches = [c["path"] for c in sim.imds_calls() if "security-credentials" in c["path"]]
    assert len(fetches) == 2, fetches  # the role name, then its keys: once for all 8
    calls = sim.calls()
    assert len(calls) == 8 and all(x["verified"] for x in calls)


def test_no_credentials_at_all(sim, driver):
    d = driver(sim, imds=False)
    assert d("describe-instance", sim.instance_ids[0])["error"] == -ENOKEY
    assert sim.calls() == []


def test_rotated_credentials_are_picked_up_before_expiry(sim, driver):
    iid = sim.instance_ids[0]
    first = sim.control("POST", "/credentials/rotate", {"instance": iid, "ttl": 6})[0]
    d = driver(sim)
    ok(d("describe-instance", iid))
    assert d("creds")["expiration"] == pytest.approx(first["expiration"], abs=1)
    second = sim.control("POST", "/credentials/rotate", {"instance": iid, "ttl": 3600})[0]
    # the refresh timer fires at half the remaining life (about 3 s), well before expiry
    d("sleep", 4.5)
    assert time.time() < first["expiration"], "slept past the old credentials' expiry"
    assert d("creds")["expiration"] == pytest.approx(second["expiration"], abs=1)
    d("sleep", max(0.0, first["expiration"] - time.time() + 0.5))
    ok(d("describe-instance", iid))
    keys = [x["access_key"] for x in sim.calls()]
    assert keys == [first["access_key_id"], second["access_key_id"]]
    assert all(x["verified"] for x in sim.calls())


def test_failed_refresh_keeps_old_credentials_and_retries(sim, driver):
    iid = sim.instance_ids[0]
    first = sim.control("POST", "/credentials/rotate", {"instance": iid, "ttl": 12})[0]
    d = driver(sim)
    ok(d("describe-instance", iid))
    second = sim.control("POST", "/credentials/rotate", {"instance": iid, "ttl": 3600})[0]
    # the refresh at ~6 s fails (every IMDS attempt of that fetch); drover retries
    sim.fault("imds", path="/latest/meta-data/iam/security-credentials", kind="status",
              status=500, count=3)
    d("sleep", 6.5)
    ok(d("describe-instance", iid))  # still fine meanwhile
    d("sleep", max(0.0, first["expiration"] - time.time() - 1.0))
    assert d("creds")["expiration"] == pytest.approx(second["expiration"], abs=1)
    failed = [c for c in sim.imds_calls()
              if "security-credentials" in c["path"] and c["status"] == 500]
    assert len(failed) == 3
    d("sleep", max(0.0, first["expiration"] - time.time() + 0.5))
    ok(d("describe-instance", iid))
    assert sim.calls()[-1]["access_key"] == second["access_key_id"]
    assert all(x["verified"] for x in sim.calls())


def test_credentials_expired_by_aws_are_fetched_again(sim, driver):
    iid = sim.instance_ids[0]
    d = driver(sim)
    ok(d("describe-instance", iid))
    sim.control("POST", "/credentials/expire", {"reissue": True})
    ok(d("describe-instance", iid))
    calls = sim.calls()
    assert [x["error"] for x in calls] == [None, "ExpiredToken", None]
    assert calls[0]["access_key"] == calls[1]["access_key"] != calls[2]["access_key"]


def test_throttling_then_success(sim, driver):
    sim.fault("aws", kind="throttle", count=2)
    d = driver(sim)
    ok(d("describe-instance", sim.instance_ids[0]))
    errors = [x["error"] for x in sim.calls()]
    assert errors == ["Throttling", "Throttling", None]


def test_5xx_burst_then_success_and_giving_up(sim, driver):
    d = driver(sim)
    sim.fault("aws", kind="status", status=503, count=2)
    ok(d("describe-group", sim.asg_name))
    assert [x["status"] for x in sim.calls()] == [503, 503, 200]
    sim.fault("aws", kind="status", status=500, count=5)
    answer = d("describe-group", sim.asg_name)
    assert answer["error"] == -EREMOTEIO
    assert len(sim.calls()) == 3 + 3  # standard mode: 3 attempts in all


def test_client_errors_are_not_retried(sim, driver):
    d = driver(sim)
    answer = d("heartbeat", sim.asg_name, "no-such-hook", sim.instance_ids[0])
    assert answer["error"] < 0 and answer["code"] == "ValidationError"
    assert "no-such-hook" in answer["message"]
    assert len(sim.calls()) == 1


def test_skewed_clock_is_recovered(sim, driver):
    sim.control("POST", "/clock", {"skew": 3600})
    d = driver(sim)
    ok(d("describe-instance", sim.instance_ids[0]))
    assert d("creds")["offset"] == pytest.approx(3600, abs=5)
    calls = sim.calls()
    assert [x["verified"] for x in calls] == [False, True]
    # later calls are signed right the first time
    ok(d("describe-group", sim.asg_name))
    assert sim.calls()[-1]["verified"] and len(sim.calls()) == 3


def test_gzip_bodies_are_accepted(sim, driver):
    d = driver(sim)
    assert d("record", 400)["recorded"] == 400
    assert d("flush") == {"sent": 1, "failed": 0, "rejected": 0, "dropped": 0, "buffered": 0}
    put = sim.calls("PutMetricData")
    assert len(put) == 1 and put[0]["gzip"] and put[0]["verified"] and put[0]["error"] is None


def test_cloudwatch_outage_buffers_then_flushes_and_counts_drops(sim, driver):
    d = driver(sim, buffer_max=100, max_attempts=1)
    sim.fault("aws", path="PutMetricData", kind="status", status=503)
    assert d("record", 60)["recorded"] == 60
    out = d("flush")
    assert out["failed"] == 1 and out["sent"] == 0 and out["buffered"] == 60
    # the buffer is bounded: 60 more push out the 20 oldest, counted
    assert d("record", 60, 1000)["dropped"] == 20
    out = d("flush")
    assert out["failed"] == 1 and out["buffered"] == 100 and out["dropped"] == 20
    sim.clear_faults()
    out = d("flush")
    assert out["failed"] == 0 and out["sent"] >= 1 and out["buffered"] == 0
    assert out["dropped"] == 20
    accepted = [x for x in sim.calls("PutMetricData") if x["error"] is None]
    assert accepted and all(x["verified"] for x in accepted)


def drover_conf(tmp_path, sim, *, imds=None, aws=True, extra=""):
    conf = tmp_path / "drover.conf"
    endpoints = (f'endpoints: {{ autoscaling = "{sim.aws_url}"; ec2 = "{sim.aws_url}"; '
                 f'cloudwatch = "{sim.aws_url}"; }};') if aws else ""
    conf.write_text(f'imds: {{ endpoint = "{imds or sim.imds_url()}"; retries = 1; '
                    f'timeout_ms = 500; }};\naws: {{ {endpoints} {extra} }};\n'
                    # the default user "drover" is checked at load and need not exist here
                    f'plugins: {{ user = ""; }};\n')
    return str(conf)


def test_aws_test_says_what_works(sim, run_drover, tmp_path):
    res = run_drover("aws-test", "-c", drover_conf(tmp_path, sim))
    assert res.returncode == 0, res.stdout + res.stderr
    iid = sim.instance_ids[0]
    assert f"instance {iid}" in res.stdout
    assert "us-east-1 (from the identity document, partition aws)" in res.stdout
    assert "instance-role:drover-sim-role" in res.stdout
    assert f"OK, in Auto Scaling group {sim.asg_name} (InService, Healthy)" in res.stdout
    assert res.stdout.rstrip().endswith("result:       OK")
    # no secret anywhere in what it says
    text = res.stdout + res.stderr
    issued = sim.state()["credentials"]["issued"]
    assert issued
    for cred in issued:
        assert cred["secret_access_key"] not in text and cred["token"] not in text
    calls = sim.calls()
    assert len(calls) == 1 and calls[0]["verified"]


def test_aws_test_reports_refused_credentials(sim, run_drover, tmp_path):
    res = run_drover("aws-test", "-c", drover_conf(tmp_path, sim),
                     env={"AWS_ACCESS_KEY_ID": "AKIAEXAMPLEEXAMPLE00",
                          "AWS_SECRET_ACCESS_KEY": "not-the-secret"})
    assert res.returncode == 1
    assert "credentials:  environment" in res.stdout
    assert "FAILED" in res.stdout and "InvalidClientTokenId" in res.stdout
    assert "not-the-secret" not in res.stdout + res.stderr


def test_aws_test_without_imds_or_region(sim, run_drover, tmp_path):
    res = run_drover("aws-test", "-c", drover_conf(tmp_path, sim, imds="http://127.0.0.1:9"))
    assert res.returncode == 1
    assert "region:       UNKNOWN" in res.stdout


def test_aws_test_with_region_and_instance_id(sim, run_drover, tmp_path):
    key, secret = sim.static_credentials
    conf = drover_conf(tmp_path, sim, imds="http://127.0.0.1:9", extra='region = "us-east-1";')
    res = run_drover("aws-test", "-c", conf, "--instance-id", sim.instance_ids[0],
                     env={"AWS_ACCESS_KEY_ID": key, "AWS_SECRET_ACCESS_KEY": secret})
    assert res.returncode == 0, res.stdout + res.stderr
    assert "from the configuration" in res.stdout

