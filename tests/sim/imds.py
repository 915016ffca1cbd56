"""The instance metadata service, one port per instance, with IMDSv2 token rules:

- PUT /latest/api/token needs X-aws-ec2-metadata-token-ttl-seconds in 1..21600 (else
  400) and is refused with 403 when it carries X-Forwarded-For;
- a GET with an invalid or expired token, or without one while IMDSv1 is disabled,
  gets 401; unknown paths 404; directories list their entries ("name/" for subdirs).
"""
import json
import secrets
import threading
import time
import traceback

from credentials import ROLE_NAME
from httpbase import Handler
from model import ACCOUNT, iso

TOKEN_PATH = "/latest/api/token"
TTL_HEADER = "X-aws-ec2-metadata-token-ttl-seconds"
TOKEN_HEADER = "X-aws-ec2-metadata-token"
INSTANCE_HEADER = "X-Sim-Instance-Id"
MAX_TTL = 21600


class Tokens:
    def __init__(self):
        self._lock = threading.Lock()
        self._tokens = {}       # token -> (instance id, expiry wall time)

    def issue(self, instance_id, ttl):
        token = secrets.token_urlsafe(42)
        with self._lock:
            now = time.time()
            self._tokens = {t: v for t, v in self._tokens.items() if v[1] > now}
            self._tokens[token] = (instance_id, now + ttl)
        return token

    def remaining(self, token, instance_id):
        """Seconds left on a valid token for this instance, else None."""
        with self._lock:
            entry = self._tokens.get(token)
        if entry is None or entry[0] != instance_id:
            return None
        left = entry[1] - time.time()
        return left if left > 0 else None

    def expire_all(self):
        with self._lock:
            self._tokens.clear()


def tree(app, inst):
    """The metadata of one instance as nested dicts (directories) and strings."""
    world = app.world
    cred = app.creds.current(inst.id)
    region = world.region
    meta = {
        "ami-id": inst.ami, "ami-launch-index": "0", "hostname": _hostname(inst, region),
        "instance-id": inst.id, "instance-type": inst.instance_type,
        "instance-life-cycle": "spot" if inst.spot else "on-demand",
        "local-hostname": _hostname(inst, region), "local-ipv4": inst.private_ip,
        "mac": "0e:00:00:00:%02x:%02x" % (inst.index // 256, inst.index % 256),
        "reservation-id": "r-" + inst.id[2:],
        "security-groups": "drover-sim",
        "placement": {"availability-zone": inst.az, "region": region,
                      "availability-zone-id": "use1-az" + str("abc".index(inst.az[-1]) + 1)},
        "iam": {"info": json.dumps({
                    "Code": "Success", "LastUpdated": iso(cred.issued),
                    "InstanceProfileArn": f"arn:aws:iam::{ACCOUNT}:instance-profile/"
                                          f"{ROLE_NAME}",
                    "InstanceProfileId": "AIPAS1MDR0VERPR0F1LE"}, indent=2),
                "security-credentials": {ROLE_NAME: json.dumps({
                    "Code": "Success", "LastUpdated": iso(cred.issued),
                    "Type": "AWS-HMAC", "AccessKeyId": cred.access_key,
                    "SecretAccessKey": cred.secret, "Token": cred.token,
                    "Expiration": iso(cred.expiration)}, indent=2)}},
        "events": {"maintenance": {"scheduled": json.dumps(inst.scheduled_events),
                                   "history": "[]"},
                   "recommendations": {}},
        "services": {"domain": "amazonaws.com", "partition": "aws"},
    }
    if inst.in_group:
        meta["autoscaling"] = {"target-lifecycle-state": inst.target_lifecycle_state()}
    spot_action, rebalance = inst.spot_action, inst.rebalance
    if app.moving_notices:
        # amazon-ec2-metadata-mock's default: the times are computed again on every
        # request, so they move; real IMDS keeps them, and drover must not care.
        now = world.clock.aws_now()
        if spot_action:
            spot_action = dict(spot_action, time=iso(now + inst.spot_in))
        if rebalance:
            rebalance = {"noticeTime": iso(now)}
    if spot_action:
        meta["spot"] = {"instance-action": json.dumps(spot_action),
                        "termination-time": spot_action["time"]}
    if rebalance:
        meta["events"]["recommendations"]["rebalance"] = json.dumps(rebalance)
    if world.tags_in_imds:
        meta["tags"] = {"instance": {k: v for k, v in inst.tags.items() if "/" not in k}}
    document = {
        "accountId": ACCOUNT, "architecture": "x86_64", "availabilityZone": inst.az,
        "billingProducts": None, "devpayProductCodes": None,
        "marketplaceProductCodes": None, "imageId": inst.ami, "instanceId": inst.id,
        "instanceType": inst.instance_type, "kernelId": None,
        "pendingTime": iso(inst.launch_time), "privateIp": inst.private_ip,
        "ramdiskId": None, "region": region, "version": "2017-09-30"}
    return {"meta-data": meta,
            "dynamic": {"instance-identity": {"document": json.dumps(document, indent=2),
                                              "signature": "c2ltdWxhdGVk"}}}


def _hostname(inst, region):
    return "ip-" + inst.private_ip.replace(".", "-") + f".{region}.compute.internal"


def resolve(node, path):
    """Looks up a path under /latest/; returns text or None (404)."""
    for part in [p for p in path.split("/") if p]:
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    if isinstance(node, dict):
        return "\n".join(k + "/" if isinstance(v, dict) else k
                         for k, v in sorted(node.items()))
    return node


class ImdsHandler(Handler):
    def _instance(self):
        iid = self.headers.get(INSTANCE_HEADER) or self.server.instance_id
        with self.app.world.lock:
            inst = self.app.world.instances.get(iid)
        return inst if inst and inst.state != "Terminated" else None

    def _answer(self, status, body="", headers=(), fault=None):
        self.app.log_imds(self.server.instance_id, self.command, self.path, status)
        self.respond(status, body, headers=headers,
                     truncate=bool(fault and fault.kind == "truncate"))

    def _fault(self, inst):
        fault = self.app.faults.take("imds", self.path.split("?")[0], None,
                                     inst.id if inst else None)
        if self.connection_fault(fault):
            self.app.log_imds(self.server.instance_id, self.command, self.path,
                              f"fault:{fault.kind}")
            return None, True
        if fault and fault.kind in ("status", "throttle"):
            status = 429 if fault.kind == "throttle" else fault.status
            self._answer(status, "")
            return None, True
        return fault, False

    def _guarded(self, serve):
        try:
            serve()
        except Exception:   # a bug in the sim: say so in the log and in the answer
            traceback.print_exc()
            self._answer(500)

    def do_PUT(self):
        self._guarded(self._put)

    def do_GET(self):
        self._guarded(self._get)

    def _put(self):
        inst = self._instance()
        fault, done = self._fault(inst)
        if done:
            return
        try:
            self.read_body()
        except Exception:
            self.close_connection = True
            return self._answer(400)
        if self.path.split("?")[0] != TOKEN_PATH:
            return self._answer(405 if inst else 404)
        if self.headers.get("X-Forwarded-For") is not None:
            return self._answer(403)
        raw = self.headers.get(TTL_HEADER)
        try:
            ttl = int(raw.strip())
        except (AttributeError, ValueError):
            ttl = 0
        if not 1 <= ttl <= MAX_TTL or inst is None:
            return self._answer(400)
        token = self.app.tokens.issue(inst.id, ttl)
        self._answer(200, token, [(TTL_HEADER, str(ttl))], fault)

    def _get(self):
        inst = self._instance()
        fault, done = self._fault(inst)
        if done:
            return
        path = self.path.split("?")[0]
        if path == TOKEN_PATH:
            return self._answer(405)
        token = self.headers.get(TOKEN_HEADER)
        headers = []
        if token is not None:
            left = self.app.tokens.remaining(token, inst.id if inst else None)
            if left is None:
                return self._answer(401)
            headers.append((TTL_HEADER, str(int(left))))
        elif not self.app.imds_v1:
            return self._answer(401)
        if inst is None:
            return self._answer(404)
        if path in ("", "/"):
            return self._answer(200, "latest", headers, fault)
        if not path.startswith("/latest"):
            return self._answer(404)
        if path.rstrip("/") == "/latest":      # the real one lists these without "/"
            return self._answer(200, "dynamic\nmeta-data", headers, fault)
        with self.app.world.lock:
            text = resolve(tree(self.app, inst), path[len("/latest"):])
        if text is None:
            return self._answer(404, "")
        self._answer(200, text, headers, fault)

    def do_POST(self):
        self._answer(405)

    do_DELETE = do_PATCH = do_POST
