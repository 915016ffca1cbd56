"""Real clients for the sim's tests: botocore clients, the AWS CLI, and raw signing."""
import gzip
import os
import subprocess
import urllib.error
import urllib.request

import botocore.session
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials

AWS_CLI = "/usr/bin/aws"
SERVICE = {"autoscaling": "autoscaling", "ec2": "ec2", "cloudwatch": "monitoring"}
_session = []


def _botocore_session():
    # one session per test process: it caches the models, which are slow to load
    if not _session:
        _session.append(botocore.session.Session())
    return _session[0]


def client(sim, service, key=None, secret=None, token=None):
    os.environ["AWS_CONFIG_FILE"] = "/dev/null"
    os.environ["AWS_SHARED_CREDENTIALS_FILE"] = "/dev/null"
    os.environ["AWS_EC2_METADATA_DISABLED"] = "true"
    return _botocore_session().create_client(
        service, region_name=sim.region, endpoint_url=sim.aws_url,
        aws_access_key_id=key or sim.static_credentials[0],
        aws_secret_access_key=secret or sim.static_credentials[1],
        aws_session_token=token,
        config=Config(retries={"total_max_attempts": 1, "mode": "standard"},
                      connect_timeout=5, read_timeout=10))


def cli(sim, *args, env=None):
    """Runs the AWS CLI against the sim; returns the CompletedProcess."""
    e = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "HOME": "/nonexistent"}
    e.update(sim.aws_env())
    e.update(env or {})
    return subprocess.run([AWS_CLI, "--endpoint-url", sim.aws_url, "--output", "json",
                           *args], capture_output=True, text=True, timeout=60, env=e)


def signed_post(sim, service, body, *, key=None, secret=None, token=None, gzip_body=False,
                tamper=None):
    """POSTs a Query body signed with SigV4 by botocore; returns (status, text).
    tamper(request) may change the signed request before it is sent."""
    headers = {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}
    data = body.encode()
    if gzip_body:
        data = gzip.compress(data)
        headers["Content-Encoding"] = "gzip"
    req = AWSRequest(method="POST", url=sim.aws_url + "/", data=data, headers=headers)
    creds = Credentials(key or sim.static_credentials[0],
                        secret or sim.static_credentials[1], token)
    SigV4Auth(creds, SERVICE.get(service, service), sim.region).add_auth(req)
    if tamper:
        tamper(req)
    raw = urllib.request.Request(req.url, data=req.data, method="POST",
                                 headers=dict(req.headers.items()))
    try:
        with urllib.request.urlopen(raw, timeout=10) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()
