"""The control API (JSON over HTTP on loopback) that tests and the demo drive the sim with.

GET  /state                      whole model state, ports, credentials, faults
GET  /calls[?action=A]           AWS API calls received (action, params, verified, ...)
GET  /imds-calls                 IMDS requests received
POST /group                      {"desired", "min", "max", "retention": "retain"|
                                  "terminate"|null (the group's InstanceLifecyclePolicy)}
POST /instances/ID               {"health", "lifecycle_state", "target_lifecycle_state",
                                  "spot_action", "rebalance", "scheduled_events", "tags",
                                  "protected"}   (spot_action: {"action", "in"} or null)
POST /instances/ID/terminate     {"decrement": false}  (as TerminateInstanceInAutoScalingGroup)
POST /instances/ID/warm-pool     {"action": "enter"|"leave", "pool_state": "Running"|
                                  "Stopped"|"Hibernated"}
POST /lifecycle-hooks            {"name", "transition": "launch"|"terminate",
                                  "heartbeat_timeout", "default_result"}
POST /credentials/rotate         {"instance": ID?, "ttl": seconds?}
POST /credentials/expire         {"reissue": true}
POST /imds/expire-tokens         {}
POST /imds/v1                    {"enabled": bool}
POST /imds/moving-notices        {"enabled": bool}  (spot/rebalance times recomputed on
                                  every request, as amazon-ec2-metadata-mock does)
POST /clock                      {"skew": seconds}   (AWS's clock = host's + skew)
GET|POST|DELETE /faults          list, add {"endpoint", "kind", "path", "count", ...}, clear
"""
import json
import time
import urllib.parse

from faults import FaultError
from httpbase import Handler
from model import LAUNCHING, STATES, TERMINATING, ModelError, iso


class ControlError(Exception):
    def __init__(self, message, status=400):
        super().__init__(message)
        self.status = status


class ControlHandler(Handler):
    def _dispatch(self):
        url = urllib.parse.urlsplit(self.path)
        query = dict(urllib.parse.parse_qsl(url.query))
        try:
            raw = self.read_body()
            body = json.loads(raw) if raw.strip() else {}
            if not isinstance(body, dict):
                raise ControlError("the body must be a JSON object")
            result = route(self.app, self.command, url.path.rstrip("/") or "/", query, body)
            status = 200
        except (ControlError, ModelError, FaultError, ValueError, KeyError,
                TypeError) as e:
            status = getattr(e, "status", 400)
            if status == 400 and isinstance(e, ModelError):
                status = 409
            result = {"error": str(getattr(e, "message", None) or e)}
        self.respond(status, json.dumps(result, indent=1) + "\n", "application/json")

    do_GET = do_POST = do_DELETE = do_PUT = _dispatch


def route(app, method, path, query, body):
    world = app.world
    parts = path.strip("/").split("/")
    if method == "GET" and path == "/state":
        return app.state()
    if method == "GET" and path == "/calls":
        return app.calls_log(query.get("action"))
    if method == "GET" and path == "/imds-calls":
        return app.imds_log_copy()
    if path == "/faults":
        if method == "GET":
            return app.faults.to_json()
        if method == "DELETE":
            app.faults.clear()
            return []
        return app.faults.add(body)
    if method != "POST":
        raise ControlError(f"no route for {method} {path}", 404)
    if path == "/group":
        if body.get("health_check_type"):
            with world.lock:
                world.health_check_type = str(body["health_check_type"])
        if "retention" in body:
            if body["retention"] not in (None, "retain", "terminate"):
                raise ControlError("retention must be retain, terminate or null")
            with world.lock:
                world.retention = body["retention"]
        if "desired" in body or "min" in body or "max" in body:
            world.set_desired(body.get("desired"), body.get("min"), body.get("max"))
        return app.state()["group"]
    if parts[0] == "instances" and len(parts) in (2, 3):
        with world.lock:
            inst = world.instances.get(parts[1])
            if inst is None:
                raise ControlError(f"no instance {parts[1]}", 404)
            if len(parts) == 3 and parts[2] == "terminate":
                world.begin_terminate(inst, f"At {{now}} instance {inst.id} was taken out "
                                      "of service in response to a user request",
                                      bool(body.get("decrement")))
            elif len(parts) == 3 and parts[2] == "warm-pool":
                world.warm_pool(inst, body.get("action"), body.get("pool_state", "Running"))
            elif len(parts) == 3:
                raise ControlError(f"no route for {path}", 404)
            else:
                set_instance(world, inst, body)
            return inst.to_json()
    if path == "/lifecycle-hooks":
        transition = {"launch": LAUNCHING, "terminate": TERMINATING}.get(
            body.get("transition"), body.get("transition"))
        return app.put_hook(body["name"], transition, body.get("heartbeat_timeout", 3600),
                            body.get("default_result", "ABANDON"))
    if path == "/credentials/rotate":
        with world.lock:
            ids = [body["instance"]] if body.get("instance") else \
                [i.id for i in world.live_instances()]
        return app.creds.rotate(ids, body.get("ttl"))
    if path == "/credentials/expire":
        app.creds.expire(body.get("reissue", True))
        return app.creds.to_json()
    if path == "/imds/expire-tokens":
        app.tokens.expire_all()
        return {}
    if path == "/imds/v1":
        app.imds_v1 = bool(body.get("enabled"))
        return {"enabled": app.imds_v1}
    if path == "/imds/moving-notices":
        app.moving_notices = bool(body.get("enabled"))
        return {"enabled": app.moving_notices}
    if path == "/clock":
        world.clock.skew = float(body.get("skew", 0))
        return {"skew": world.clock.skew}
    raise ControlError(f"no route for {method} {path}", 404)


def set_instance(world, inst, body):
    if "health" in body:
        world.set_health(inst.id, body["health"], body.get("respect_grace", False))
    if "lifecycle_state" in body:
        if body["lifecycle_state"] not in STATES:
            raise ControlError(f"lifecycle_state must be one of {STATES}")
        inst.state = body["lifecycle_state"]
    if "target_lifecycle_state" in body:
        inst.target_override = body["target_lifecycle_state"]
    if "spot_action" in body:
        spec = body["spot_action"]
        if spec is None:
            inst.spot_action = None
        else:
            inst.spot_in = float(spec.get("in", 120))
            when = world.clock.aws_now() + inst.spot_in
            inst.spot_action = {"action": spec.get("action", "terminate"),
                                "time": iso(when)}
    if "rebalance" in body:
        inst.rebalance = {"noticeTime": iso(world.clock.aws_now())} \
            if body["rebalance"] else None
    if "scheduled_events" in body:
        events = body["scheduled_events"]
        if not isinstance(events, list):
            raise ControlError("scheduled_events must be a list")
        inst.scheduled_events = [_event(e) for e in events]
    if "tags" in body:
        inst.tags.update({str(k): str(v) for k, v in body["tags"].items()})
    if "protected" in body:
        inst.protected = bool(body["protected"])


def _event(spec):
    """A scheduled event as IMDS shows it; "in"/"duration" are seconds from now."""
    fmt = "%d %b %Y %H:%M:%S GMT"
    start = time.time() + float(spec.get("in", 3600))
    end = start + float(spec.get("duration", 600))
    return {"NotBefore": time.strftime(fmt, time.gmtime(start)),
            "Code": spec.get("code", "system-reboot"),
            "Description": spec.get("description", "scheduled reboot"),
            "EventId": spec.get("event_id", "instance-event-0d59937288b749b32"),
            "NotAfter": time.strftime(fmt, time.gmtime(end)),
            "State": spec.get("state", "active")}
