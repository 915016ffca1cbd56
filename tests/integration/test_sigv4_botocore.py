"""Differential test: drover's SigV4 against botocore's SigV4Auth, byte for byte.

At least 1000 seeded random requests (methods, unicode and reserved characters in paths
and in unencoded query parameters handed to both sides as parameters, repeated query
keys, header whitespace and case, empty and binary bodies, session tokens) are signed
at fixed times by botocore and by drover's tests/unit/sigv4-sign driver (one process,
JSON lines in and out), and the Authorization headers must be identical.

Where botocore is known to differ from the published AWS SigV4 suite, the suite wins
and the case says so: botocore folds every Unicode whitespace character in header
values (Python's str.split()), while the suite's Trimall folds spaces only (drover also
folds tabs, as botocore does). Those cases are marked `known_difference`; for them
drover must match botocore with the suite's Trimall patched in, and must differ from
stock botocore (so the mark stays honest).
"""
import datetime
import hashlib
import json
import os
import random
import re
import subprocess
import time
import types
from urllib.parse import quote

import pytest

import botocore.auth as botocore_auth  # noqa: E402
from botocore.awsrequest import AWSRequest  # noqa: E402
from botocore.credentials import Credentials  # noqa: E402

N_CASES = 1200
SEED = 20150830
TIMES = [
    datetime.datetime(2015, 8, 30, 12, 36, 0),
    datetime.datetime(2024, 2, 29, 23, 59, 59),
    datetime.datetime(2038, 1, 19, 3, 14, 8),
]
UNICODE_WS = ["\u00a0", "\u2003", "\u3000", "\u0085", "\u2028"]

SEGMENT_ATOMS = (list("abcXYZ019-._~") + list("!$&'()*+,;=:@") +
                 [" ", "%", "%20", "%2F", "é", "ሴ", "日本", "😀", "ü", "?", "#", "[", "]",
                  "^", "`", "{", "}", "|", "\\", "\"", "<", ">"])
PARAM_ATOMS = (list("abcXYZ019-._~") + list("!$&'()*+,;=:@/?#[] ") +
               ["é", "ሴ", "😀", "%", "%41", "+", "日本", "\u00a0"])


def driver_path():
    top = os.environ.get("top_builddir")
    if top:
        return os.path.join(top, "tests", "unit", "sigv4-sign")
    bin_ = os.environ.get("DROVER_BIN", "")
    return os.path.join(os.path.dirname(bin_) or ".", "tests", "unit", "sigv4-sign")


def rand_text(rng, atoms, lo, hi):
    return "".join(rng.choice(atoms) for _ in range(rng.randint(lo, hi)))


def rand_path(rng):
    segs = []
    for _ in range(rng.randint(0, 5)):
        r = rng.random()
        if r < 0.12:
            segs.append(".")
        elif r < 0.22:
            segs.append("..")
        elif r < 0.3:
            segs.append("")
        else:
            segs.append(rand_text(rng, SEGMENT_ATOMS, 1, 6))
    path = "/" + "/".join(segs)
    if rng.random() < 0.3:
        path += "/"
    # The path as it goes on the request line: raw (like the suite's get-space), or
    # already %-encoded (both sides then encode it a second time, as AWS requires).
    # '?' and '#' cannot appear raw in a URL.
    if rng.random() < 0.5 or "?" in path or "#" in path:
        path = quote(path, safe="/~")
    return path


def rand_params(rng):
    params = []
    for _ in range(rng.choice([0, 0, 1, 2, 3, 5, 8])):
        if params and rng.random() < 0.3:
            key = rng.choice(params)[0]  # repeated key, other value
        else:
            key = rand_text(rng, PARAM_ATOMS, 0 if rng.random() < 0.05 else 1, 8)
        params.append((key, rand_text(rng, PARAM_ATOMS, 0, 10)))
    return params


def rand_case_name(rng, name):
    return "".join(c.upper() if rng.random() < 0.5 else c.lower() for c in name)


def rand_value(rng):
    words = [rand_text(rng, list("abcXYZ019-_.,;:/\"'=()é日"), 1, 6)
             for _ in range(rng.randint(0, 4))]
    seps = [" ", "  ", "   ", "\t", " \t "]
    v = "".join(w + rng.choice(seps) for w in words).rstrip(" \t")
    return rng.choice(["", " ", "  ", "\t"]) + v + rng.choice(["", " ", "   ", "\t "])


def rand_headers(rng, host):
    headers = [(rand_case_name(rng, "host"), rng.choice(["", " "]) + host)]
    pool = ["My-Header1", "X-Custom", "Content-Type", "x-amz-meta-Thing", "Accept",
            "X-Amz-Target", "User-Agent", "Expect", "X-Amzn-Trace-Id", "X-Amz-Date",
            "Authorization", "X-Amz-Content-SHA256"]
    for _ in range(rng.randint(0, 6)):
        name = rng.choice(pool)
        if name == "X-Amz-Content-SHA256":
            value = rng.choice(["UNSIGNED-PAYLOAD", hashlib.sha256(b"x").hexdigest()])
        elif name in ("X-Amz-Date", "Authorization"):
            value = "stale-value-that-must-be-replaced"
        else:
            value = rand_value(rng)
        headers.append((rand_case_name(rng, name), value))
        if rng.random() < 0.2 and name != "X-Amz-Content-SHA256":
            # the same header again, other case, other value
            headers.append((rand_case_name(rng, name), rand_value(rng)))
    return headers


def rand_body(rng):
    r = rng.random()
    if r < 0.35:
        return b""
    if r < 0.6:
        return bytes(rng.getrandbits(8) for _ in range(rng.randint(1, 300)))
    if r < 0.8:
        return b"\x00\xff\x00" * rng.randint(1, 5)
    return "Action=DescribeThings&Version=2011-01-01&Name=é".encode()


def generate(n):
    rng = random.Random(SEED)
    cases = []
    for i in range(n):
        host = rng.choice(["example.amazonaws.com", "autoscaling.us-east-1.amazonaws.com",
                           "127.0.0.1:8080", "monitoring.cn-north-1.amazonaws.com.cn"])
        case = {
            "id": i,
            "method": rng.choice(["GET", "POST", "PUT", "DELETE", "HEAD", "PATCH", "get"]),
            "path": rand_path(rng),
            "params": rand_params(rng),
            "headers": rand_headers(rng, host),
            "body": rand_body(rng),
            "akid": rng.choice(["AKIDEXAMPLE", "ASIAXXXXEXAMPLE1234"]),
            "secret": rng.choice(["wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "s3cr3t+/="]),
            "token": rng.choice([None, None, "AQoDYXdzEPT//////////wEXAMPLE==", "tok en"]),
            "region": rng.choice(["us-east-1", "eu-west-3", "cn-north-1", "us-gov-west-1"]),
            "service": rng.choice(["service", "autoscaling", "ec2", "monitoring", "sts"]),
            "time": rng.choice(TIMES),
            "known_difference": None,
        }
        if rng.random() < 0.06:
            ws = rng.choice(UNICODE_WS)
            case["headers"].append(("X-Unicode-Space", f"a{ws}b{ws}{ws}c"))
            case["known_difference"] = (
                f"header value holds U+{ord(ws):04X}: botocore folds it as whitespace, "
                "the suite's Trimall folds spaces only; drover follows the suite")
        cases.append(case)
    return cases


def suite_trimall(value):
    return re.sub(r"[ \t]+", " ", value.strip(" \t"))


class FixedClock(datetime.datetime):
    now_value = TIMES[0]

    @classmethod
    def utcnow(cls):
        return cls.now_value


def botocore_sign(case, monkeypatch, suite_rules=False):
    FixedClock.now_value = case["time"]
    monkeypatch.setattr(botocore_auth, "datetime", types.SimpleNamespace(datetime=FixedClock))
    host = next(v for n, v in case["headers"] if n.lower() == "host").strip()
    req = AWSRequest(method=case["method"], url=f"https://{host}{case['path']}",
                     data=case["body"], params=list(case["params"]))
    for name, value in case["headers"]:
        req.headers[name] = value  # HTTPHeaders appends: repeated names are kept
    creds = Credentials(case["akid"], case["secret"], case["token"])
    signer = botocore_auth.SigV4Auth(creds, case["service"], case["region"])
    if suite_rules:
        monkeypatch.setattr(signer, "_header_value", suite_trimall)
    signer.add_auth(req)
    authz = req.headers["Authorization"]
    del req.headers["Authorization"]  # so the canonical request shown is the signed one
    return authz, signer.canonical_request(req)


def drover_sign_all(cases):
    path = driver_path()
    if not os.access(path, os.X_OK):
        pytest.fail(f"sigv4-sign driver not found at {path} (set top_builddir)")
    lines = []
    for c in cases:
        lines.append(json.dumps({
            "method": c["method"], "path": c["path"], "params": c["params"],
            "headers": c["headers"], "body_hex": c["body"].hex(), "akid": c["akid"],
            "secret": c["secret"], "token": c["token"], "region": c["region"],
            "service": c["service"],
            "time": int(c["time"].replace(tzinfo=datetime.timezone.utc).timestamp()),
        }))
    proc = subprocess.run([path], input="\n".join(lines) + "\n", capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    # split("\n"), not splitlines(): U+2028 and U+0085 are line breaks to Python.
    out = [json.loads(line) for line in proc.stdout.split("\n") if line]
    assert len(out) == len(cases)
    return out


def test_generator_covers_what_it_claims():
    cases = generate(N_CASES)
    assert len(cases) >= 1000
    assert any(not c["body"] for c in cases) and any(b"\x00" in c["body"] for c in cases)
    assert any(any(ord(ch) > 127 for ch in c["path"]) for c in cases)
    assert any("%25" in c["path"] or "%" in c["path"] for c in cases)
    keys = [[k for k, _ in c["params"]] for c in cases]
    assert any(len(k) != len(set(k)) for k in keys)
    assert any(any(ord(ch) > 127 for k, v in c["params"] for ch in k + v) for c in cases)
    assert any(len({n.lower() for n, _ in c["headers"]}) < len(c["headers"]) for c in cases)
    assert 20 <= sum(1 for c in cases if c["known_difference"]) <= 150


def test_drover_matches_botocore(monkeypatch):
    cases = generate(N_CASES)
    results = drover_sign_all(cases)
    mismatches = []
    known = 0
    for case, got in zip(cases, results):
        assert "error" not in got, (case, got)
        want, creq = botocore_sign(case, monkeypatch)
        if case["known_difference"]:
            known += 1
            # Stock botocore must really differ here, else the mark is stale.
            if want == got["authorization"]:
                mismatches.append((case, "marked known_difference but botocore agrees"))
            want, creq = botocore_sign(case, monkeypatch, suite_rules=True)
        if want != got["authorization"]:
            mismatches.append((case, f"botocore: {want}\n drover: {got['authorization']}\n"
                                     f"botocore creq:\n{creq}\n drover creq:\n{got['creq']}"))
    report = "\n\n".join(f"case {c['id']} ({c['known_difference'] or 'plain'}): {why}"
                         for c, why in mismatches[:5])
    assert not mismatches, f"{len(mismatches)} of {len(cases)} differ:\n{report}"
    assert known > 0


# ---- drover's signed Query requests against the sim, which verifies with botocore ----

def drover_run(requests):
    path = driver_path()
    if not os.access(path, os.X_OK):
        pytest.fail(f"sigv4-sign driver not found at {path} (set top_builddir)")
    proc = subprocess.run([path], input="".join(json.dumps(r) + "\n" for r in requests),
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    out = [json.loads(line) for line in proc.stdout.split("\n") if line]
    assert len(out) == len(requests)
    return out


def query_request(sim, service, action, version, params, *, now=None, gzip=False):
    key, secret = sim.static_credentials
    return {"mode": "query", "action": action, "version": version,
            "params": [list(p) for p in params], "endpoint": sim.aws_url + "/",
            "region": sim.region, "service": service, "gzip": gzip, "akid": key,
            "secret": secret, "time": int(now if now is not None else time.time())}


def post(signed):
    import urllib.error
    import urllib.request
    headers = dict(line.split(": ", 1) for line in signed["headers"])
    req = urllib.request.Request(signed["url"], data=bytes.fromhex(signed["body_hex"]),
                                 method="POST", headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, resp.read().decode(), resp.headers.get("Date")
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode(), e.headers.get("Date")


def test_query_requests_accepted_by_sim(sim):
    dim_value = "caf\u00e9 & \u65e5\u672c/=+?~ %41"
    signed = drover_run([
        query_request(sim, "autoscaling", "DescribeAutoScalingGroups", "2011-01-01",
                      [("AutoScalingGroupNames.member.1", sim.asg_name)]),
        query_request(sim, "monitoring", "PutMetricData", "2010-08-01",
                      [("Namespace", "Drover"),
                       ("MetricData.member.1.MetricName", "Plain"),
                       ("MetricData.member.1.Value", "1"),
                       ("MetricData.member.1.Dimensions.member.1.Name", "Check"),
                       ("MetricData.member.1.Dimensions.member.1.Value", dim_value)]),
        query_request(sim, "monitoring", "PutMetricData", "2010-08-01",
                      [("Namespace", "Drover"), ("MetricData.member.1.MetricName", "Zipped"),
                       ("MetricData.member.1.Value", "7")], gzip=True),
    ])
    for s in signed:
        assert "error" not in s, s
    status, text, _ = post(signed[0])
    assert status == 200, text
    assert f"<AutoScalingGroupName>{sim.asg_name}</AutoScalingGroupName>" in text
    assert sim.calls("DescribeAutoScalingGroups")[-1]["verified"]
    for s in signed[1:]:
        status, text, _ = post(s)
        assert status == 200, text
    calls = sim.calls("PutMetricData")
    assert [c["verified"] for c in calls[-2:]] == [True, True]
    assert [c["gzip"] for c in calls[-2:]] == [False, True]
    # The form encoding carried the value intact (the sim decoded what was signed).
    assert calls[-2]["params"]["MetricData.member.1.Dimensions.member.1.Value"] == dim_value


@pytest.mark.parametrize("skew", [-900, 900])
def test_clock_skew_learned_from_date(sim, skew):
    """A skewed AWS clock: the error is classified as skew, the offset comes from Date,
    and a request signed at now + offset is accepted."""
    sim.control("POST", "/clock", {"skew": skew})
    params = [("AutoScalingGroupNames.member.1", sim.asg_name)]
    now = int(time.time())
    first = drover_run([query_request(sim, "autoscaling", "DescribeAutoScalingGroups",
                                      "2011-01-01", params, now=now)])[0]
    status, text, date = post(first)
    assert status in (400, 403), text
    answer = drover_run([{"mode": "answer", "status": status, "body": text, "date": date,
                          "now": int(time.time())}])[0]
    assert answer["kind"] == "clock-skew", answer
    assert abs(answer["offset"] - skew) <= 5, answer
    second = drover_run([query_request(sim, "autoscaling", "DescribeAutoScalingGroups",
                                       "2011-01-01", params,
                                       now=int(time.time()) + answer["offset"])])[0]
    status, text, _ = post(second)
    assert status == 200, text


def test_sim_error_documents_classified(sim):
    sim.fault("aws", kind="throttle", count=1)
    signed = drover_run([query_request(sim, "autoscaling", "DescribeAutoScalingGroups",
                                       "2011-01-01", [])])[0]
    status, text, date = post(signed)
    answer = drover_run([{"mode": "answer", "status": status, "body": text, "date": date,
                          "now": int(time.time())}])[0]
    assert (status, answer["code"], answer["kind"]) == (400, "Throttling", "throttle")
    assert answer["request_id"]
