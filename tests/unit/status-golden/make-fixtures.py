#!/usr/bin/python3
"""Writes the JSON fixtures of the `drover status` golden tests, one per situation of
the table in drover(8). The documents have the daemon's layout (manager-status.c,
heal_status_json, groupview_json, lifecycle_status_json). Run it after changing a
situation, then `DROVER_UPDATE_GOLDEN=1 tests/unit/test-status-text` and read the diff.
"""
import copy
import json
import os

NOW = 1796181000  # the test's clock
HERE = os.path.dirname(os.path.abspath(__file__))


def check(name, role="liveness", state="passing", status=0, output="OK", ago=4.2, **kw):
    names = ["OK", "WARNING", "CRITICAL", "UNKNOWN"]
    c = {"name": name, "role": role, "state": state, "soft": False, "status": status,
         "status_name": names[status], "output": output, "output_truncated": False,
         "output_bytes": len(output.encode()), "duration_ms": 12,
         "last_run_s_ago": ago, "successes": 3 if state == "passing" else 0,
         "failures": 3 if state == "failed" else 0, "running": False}
    c.update(kw)
    return c


def group(**kw):
    g = {"answered": True, "membership": "in-group", "group": "web-asg",
         "lifecycle_state": "InService", "health_status": "Healthy", "desired": 3,
         "instances": 3, "health_replacements_last_hour": 0, "suspended_processes": []}
    g.update(kw)
    return g


NOT_ASKED = {"answered": False, "membership": "unknown", "suspended_processes": []}

BASE = {
    "schema": 1, "time": NOW, "version": "0.9.0", "pid": 4242, "uptime_s": 3900.5,
    "instance": {"known": True, "instance_id": "i-0123456789abcdef0", "region": "us-east-1",
                 "availability_zone": "us-east-1a", "instance_type": "t3.micro",
                 "image_id": "ami-0abc"},
    "config": {"path": "/etc/drover/drover.conf", "reload_error": None},
    "checks": [check("web", output="HTTP OK: 200 in 3 ms"),
               check("db", role="dependency", output="TCP OK - 0.001 s to port 5432")],
    "grace_left_s": 0,
    "heal": {"verdict": "healthy", "failing": "",
             "decision": {"action": "none", "reason": "healthy",
                          "message": "no liveness check failing"},
             "group": NOT_ASKED, "remediation": [], "history": []},
    "summary": "1/2 checks passing; group unknown; healthy",
    "lifecycle": {"target": "InService", "group_state": "InService", "group": "web-asg",
                  "spot": None,
                  "rebalance": None, "scheduled": [], "history": []},
    "plugins": {"running": 0, "queued": 0},
}

WEB_FAILED = check("web", state="failed", status=2, output="HTTP CRITICAL: connection refused")


def sick(reason, action, message, grp=None, **heal):
    d = copy.deepcopy(BASE)
    d["checks"][0] = WEB_FAILED
    d["heal"].update(verdict="unhealthy", failing="web",
                     decision={"action": action, "reason": reason, "message": message},
                     group=grp or group())
    d["heal"].update(heal)
    return d


def situations():
    s = {}
    d = copy.deepcopy(BASE)
    d["instance"] = {"known": False, "error": "Connection refused"}
    d["heal"]["verdict"] = "unknown"
    d["heal"]["decision"] = {"action": "none", "reason": "healthy", "message": ""}
    del d["lifecycle"]
    d["instance"]["imds"] = "unreachable"
    s["off-ec2"] = d

    d = copy.deepcopy(d)
    d["instance"] = {"known": False, "imds": "invalid-document",
                     "error": "the identity document is invalid (instanceId)"}
    s["identity-invalid"] = d

    d = copy.deepcopy(s["off-ec2"])
    d["instance"] = {"known": False, "imds": "not-asked", "error": "not asked yet"}
    d["checks"] = [check("web", state="pending", status=3, output="", ago=None),
                   check("db", role="dependency", state="pending", status=3, output="",
                         ago=None)]
    d["uptime_s"] = 0.3
    s["starting"] = d

    d = copy.deepcopy(BASE)
    d["heal"]["verdict"] = "unknown"
    d["checks"] = copy.deepcopy(s["starting"]["checks"])
    d["checks"][0]["running"] = True
    s["no-verdict-yet"] = d

    s["healthy-not-asked-yet"] = copy.deepcopy(BASE)

    d = copy.deepcopy(BASE)
    d["heal"]["group"] = group()
    s["healthy-in-group"] = d

    d = copy.deepcopy(BASE)
    d["checks"].append(check("api", state="pending", status=3, output="", ago=None))
    s["healthy-check-not-run"] = d

    d = copy.deepcopy(BASE)
    d["checks"][1] = check("db", role="dependency", state="failed", status=2,
                           output="TCP CRITICAL - Connection refused")
    d["heal"].update(verdict="degraded", decision={
        "action": "none", "reason": "degraded",
        "message": "only dependency checks failing: not a reason to replace"})
    s["degraded"] = d

    d = copy.deepcopy(BASE)
    d["checks"][0] = WEB_FAILED
    d["heal"].update(verdict="remediating", failing="web", decision={
        "action": "none", "reason": "remediating",
        "message": "liveness check failing, remediation in progress"},
        remediation=[{"check": "web", "attempts": [NOW - 95]}],
        history=["2026-12-02T03:08:25Z check web failed: restarting nginx.service"])
    s["remediating"] = d

    held = {
        "grace-period": ("wait", "grace period: 120 s left"),
        "no-fresh-answer": ("wait", "no successful answer from Auto Scaling yet"),
        "standalone-not-allowed": ("report-only",
                                   "not in an Auto Scaling group and standalone_action = none"),
        "process-suspended": ("report-only",
                              "ReplaceUnhealthy process suspended on group web-asg"),
        "paused-tag": ("report-only", "group web-asg is tagged drover:paused=true"),
        "standby-or-detached": ("report-only", "instance is Standby: never replaced"),
        "not-in-service": ("wait", "lifecycle state Pending:Wait, not InService"),
        "storm-brake": ("report-only",
                        "storm brake: 5 health replacements in the last hour, limit 2"),
        "fleet-guard": ("wait", "fleet guard: 2 of 3 not InService+Healthy, budget 1"),
        "action-none": ("report-only", "policy.action = none: reporting only"),
        "dry-run": ("report-only", "dry_run: would set-unhealthy"),
    }
    for reason, (action, message) in held.items():
        g = group()
        if reason == "no-fresh-answer":
            g = dict(NOT_ASKED, error="Auto Scaling: Throttling: Rate exceeded")
        elif reason == "standalone-not-allowed":
            g = {"answered": True, "membership": "standalone", "suspended_processes": []}
        elif reason == "process-suspended":
            g = group(suspended_processes=["ReplaceUnhealthy"])
        elif reason == "standby-or-detached":
            g = group(lifecycle_state="Standby")
        elif reason == "not-in-service":
            g = group(lifecycle_state="Pending:Wait")
        elif reason == "storm-brake":
            g = group(health_replacements_last_hour=5)
        elif reason == "fleet-guard":
            g = group(instances=3)
        d = sick(reason, action, message, g)
        if reason == "grace-period":
            d["grace_left_s"] = 120
            d["heal"]["group"] = NOT_ASKED
        s["held-back-" + reason] = d

    s["replacing"] = sick("replace", "replace", "replacing: set-unhealthy")

    d = sick("replace", "replace", "replacing: set-unhealthy",
             replacement={"action": "set-unhealthy", "requested_at": NOW - 180,
                          "confirmed": False},
             history=["2026-12-02T03:07:00Z replacement requested (set-unhealthy), failing: web"])
    s["requested"] = d

    d = sick("already-requested", "none", "replacement already requested and confirmed",
             group(health_status="Unhealthy"),
             replacement={"action": "set-unhealthy", "requested_at": NOW - 180,
                          "confirmed": True},
             history=["2026-12-02T03:07:00Z replacement requested (set-unhealthy), failing: web",
                      "2026-12-02T03:07:30Z replacement confirmed by the group"])
    s["confirmed"] = d

    d = sick("group-replacing", "none", "group web-asg shows this instance Terminating",
             group(lifecycle_state="Terminating:Wait", health_status="Unhealthy"))
    d["lifecycle"].update(target="Terminated", running={
        "event": "terminate", "key": "drain", "phase": "hooks",
        "hook": "terminate/10-drain", "lifecycle_hook": "drain", "heartbeats": 2})
    s["group-replacing"] = d

    d = sick("already-requested", "none",
             "the group let go of this instance (it is in no group now)",
             {"answered": True, "membership": "standalone", "suspended_processes": []},
             replacement={"action": "terminate-in-asg", "requested_at": NOW - 600,
                          "confirmed": True})
    s["terminated-by-group"] = d

    d = copy.deepcopy(BASE)
    d["config"]["reload_error"] = ("/etc/drover/conf.d/web.conf:7: checks is a list ( ), "
                                   "not an array [ ]")
    s["reload-failed"] = d

    d = copy.deepcopy(BASE)
    long = "D\u00e9j\u00e0 vu: " + "\u00e9" * 100
    d["checks"][0] = check("web", output=long[:300], output_truncated=True,
                           output_bytes=70000)
    d["checks"][1] = check("a-very-long-dependency-check-name", role="dependency",
                           output="ctl\x01\x02\x1b[31mred")
    d["heal"]["history"] = ["2026-12-02T03:09:00Z remediation of web: exec failed (\x1b[2Jboom)"]
    d["heal"]["group"] = dict(NOT_ASKED, error="Auto Scaling: <Message>\x07bell</Message>")
    s["cut-output"] = d

    d = copy.deepcopy(BASE)
    d["heal"]["group"] = group()
    d["lifecycle"].update(spot={"action": "terminate", "time": NOW + 90},
                          rebalance=NOW - 300,
                          scheduled=[{"code": "system-reboot", "id": "instance-event-0abc",
                                      "not_before": NOW + 86400 * 3}],
                          running={"event": "spot-interruption", "key": "terminate",
                                   "phase": "hooks", "hook": "spot-interruption/10-save",
                                   "lifecycle_hook": None, "heartbeats": 0})
    s["spot-notice"] = d

    s["daemon-error"] = {"schema": 1, "error": "status reply too large", "bytes": 3000000}
    return s


if __name__ == "__main__":
    for name, doc in situations().items():
        with open(os.path.join(HERE, name + ".json"), "w") as f:
            json.dump(doc, f, indent=1, ensure_ascii=False)
            f.write("\n")
