"""EC2 actions: DescribeInstances and TerminateInstances, enough for drover's
standalone path and for seeing what the group did."""
import re

from model import ModelError

_ID_RE = re.compile(r"i-[0-9a-f]{8,17}")
STATE_CODES = {"pending": 0, "running": 16, "shutting-down": 32, "terminated": 48}
FILTERS = ("instance-id", "instance-state-name", "availability-zone", "instance-type",
           "instance-lifecycle")


def _state_name(inst):
    if inst.state == "Pending":
        return "pending"
    if inst.state == "Terminated":
        return "terminated"
    if inst.state == "Terminating:Proceed":
        return "shutting-down"
    return "running"


def _state(name):
    return {"Code": STATE_CODES[name], "Name": name}


def _instance_json(inst):
    out = {"InstanceId": inst.id, "ImageId": inst.ami, "InstanceType": inst.instance_type,
           "LaunchTime": inst.launch_time, "Placement": {"AvailabilityZone": inst.az,
                                                         "Tenancy": "default"},
           "PrivateIpAddress": inst.private_ip,
           "PrivateDnsName": "ip-" + inst.private_ip.replace(".", "-") + ".ec2.internal",
           "State": _state(_state_name(inst)), "Architecture": "x86_64",
           "SubnetId": "subnet-0sima", "VpcId": "vpc-0sim",
           "Tags": [{"Key": k, "Value": v} for k, v in sorted(inst.tags.items())]}
    if inst.spot:
        out["InstanceLifecycle"] = "spot"
    return out


def _check_ids(world, ids):
    for iid in ids:
        if not _ID_RE.fullmatch(iid):
            raise ModelError(f'Invalid id: "{iid}"', "InvalidInstanceID.Malformed")
        if iid not in world.instances:
            raise ModelError(f"The instance ID '{iid}' does not exist",
                             "InvalidInstanceID.NotFound")


def _matches(inst, filters):
    values = {"instance-id": inst.id, "instance-state-name": _state_name(inst),
              "availability-zone": inst.az, "instance-type": inst.instance_type,
              "instance-lifecycle": "spot" if inst.spot else None}
    for f in filters:
        name, wanted = f.get("Name", ""), f.get("Values") or []
        if name.startswith("tag:"):
            have = inst.tags.get(name[4:])
        elif name == "tag-key":
            have = next((k for k in inst.tags if k in wanted), None)
        elif name in FILTERS:
            have = values[name]
        else:
            raise ModelError(f"The filter '{name}' is invalid", "InvalidParameterValue")
        if have not in wanted:
            return False
    return True


def describe_instances(app, req):
    world = app.world
    ids = req.get("InstanceIds") or []
    with world.lock:
        _check_ids(world, ids)
        found = [i for i in world.instances.values()
                 if (not ids or i.id in ids) and _matches(i, req.get("Filters") or [])]
        reservations = [{"ReservationId": "r-" + i.id[2:], "OwnerId": "123456789012",
                         "Groups": [], "Instances": [_instance_json(i)]} for i in found]
    return {"Reservations": reservations}


def terminate_instances(app, req):
    world = app.world
    ids = req["InstanceIds"]
    with world.lock:
        _check_ids(world, ids)
        if req.get("DryRun"):
            raise ModelError("Request would have succeeded, but DryRun flag is set.",
                             "DryRunOperation", 412)
        out = []
        for iid in ids:
            inst = world.instances[iid]
            before = _state_name(inst)
            if inst.state != "Terminated":
                world.ec2_terminate(inst)
            out.append({"InstanceId": iid, "PreviousState": _state(before),
                        "CurrentState": _state(_state_name(inst))})
    return {"TerminatingInstances": out}


HANDLERS = {"DescribeInstances": describe_instances,
            "TerminateInstances": terminate_instances}
