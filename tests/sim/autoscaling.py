"""Auto Scaling actions over the group model. Handlers take the parsed request dict and
return the result dict in botocore's output shape."""
from model import LAUNCHING, PROCESSES, TERMINATING, ModelError, iso

LAUNCH_TEMPLATE = {"LaunchTemplateId": "lt-0sim0drover0000", "LaunchTemplateName": "drover",
                   "Version": "$Default"}


def put_hook(world, name, transition, heartbeat_timeout=3600, default_result="ABANDON",
             metadata=None):
    if transition not in (LAUNCHING, TERMINATING):
        raise ModelError(f"Invalid Lifecycle Transition: {transition}")
    if not 30 <= int(heartbeat_timeout) <= 7200:
        raise ModelError("HeartbeatTimeout must be between 30 and 7200 seconds")
    if default_result not in ("CONTINUE", "ABANDON"):
        raise ModelError("DefaultResult must be CONTINUE or ABANDON")
    with world.lock:
        hook = {"LifecycleHookName": name, "AutoScalingGroupName": world.asg_name,
                "LifecycleTransition": transition, "HeartbeatTimeout": int(heartbeat_timeout),
                "GlobalTimeout": min(100 * int(heartbeat_timeout), 172800),
                "DefaultResult": default_result}
        if metadata:
            hook["NotificationMetadata"] = metadata
        world.hooks[name] = hook
        return hook


def _group(world, name):
    if name != world.asg_name:
        raise ModelError(f"AutoScalingGroup name not found - AutoScalingGroup '{name}' "
                         "not found")


def _page(items, req, key, default_max=50, cap=100):
    try:
        start = int(req.get("NextToken") or 0)
    except ValueError:
        raise ModelError("The token provided is not valid", "InvalidNextToken") from None
    size = min(max(int(req.get("MaxRecords") or default_max), 1), cap)
    out = {key: items[start:start + size]}
    if start + size < len(items):
        out["NextToken"] = str(start + size)
    return out


def group_json(world):
    return {
        "AutoScalingGroupName": world.asg_name, "AutoScalingGroupARN": world.arn,
        "LaunchTemplate": LAUNCH_TEMPLATE, "MinSize": world.min_size,
        "MaxSize": world.max_size, "DesiredCapacity": world.desired, "DefaultCooldown": 300,
        "AvailabilityZones": [world.region + s for s in "abc"], "LoadBalancerNames": [],
        "TargetGroupARNs": [], "HealthCheckType": world.health_check_type,
        "HealthCheckGracePeriod": int(world.grace), "CreatedTime": world.created,
        "Instances": [{"InstanceId": i.id, "InstanceType": i.instance_type,
                       "AvailabilityZone": i.az, "LifecycleState": i.state,
                       "HealthStatus": i.health, "LaunchTemplate": LAUNCH_TEMPLATE,
                       "ProtectedFromScaleIn": i.protected}
                      for i in world.group_instances()
                      if not i.state.startswith("Warmed:")],  # DescribeWarmPool's, not ours
        "SuspendedProcesses": [{"ProcessName": p, "SuspensionReason": r}
                               for p, r in world.suspended.items()],
        "VPCZoneIdentifier": "subnet-0sima,subnet-0simb,subnet-0simc", "EnabledMetrics": [],
        "Tags": [{"ResourceId": world.asg_name, "ResourceType": "auto-scaling-group",
                  "Key": k, "Value": v["Value"],
                  "PropagateAtLaunch": v.get("PropagateAtLaunch", False)}
                 for k, v in sorted(world.group_tags.items())],
        "TerminationPolicies": ["Default"], "NewInstancesProtectedFromScaleIn": False,
        "ServiceLinkedRoleARN": "arn:aws:iam::123456789012:role/aws-service-role/"
                                "autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling",
        "CapacityRebalance": False,
        "InstanceLifecyclePolicy": {"RetentionTriggers": {
            "TerminateHookAbandon": world.retention}} if world.retention else None}


def describe_auto_scaling_groups(app, req):
    world = app.world
    names = req.get("AutoScalingGroupNames") or [world.asg_name]
    with world.lock:
        groups = [group_json(world)] if world.asg_name in names else []
    for f in req.get("Filters") or []:
        name, values = f.get("Name", ""), f.get("Values") or []
        tags = {t["Key"]: t["Value"] for t in (groups[0]["Tags"] if groups else [])}
        if name == "tag-key":
            ok = any(v in tags for v in values)
        elif name == "tag-value":
            ok = any(v in tags.values() for v in values)
        elif name.startswith("tag:"):
            ok = tags.get(name[4:]) in values
        else:
            raise ModelError(f"Filter name {name} is not supported")
        if not ok:
            groups = []
    return _page(groups, req, "AutoScalingGroups")


def describe_auto_scaling_instances(app, req):
    world = app.world
    wanted = req.get("InstanceIds")
    with world.lock:
        # this API spells health in capitals, unlike DescribeAutoScalingGroups
        items = [{"InstanceId": i.id, "InstanceType": i.instance_type,
                  "AutoScalingGroupName": world.asg_name, "AvailabilityZone": i.az,
                  "LifecycleState": i.state, "HealthStatus": i.health.upper(),
                  "LaunchTemplate": LAUNCH_TEMPLATE, "ProtectedFromScaleIn": i.protected}
                 for i in world.group_instances() if wanted is None or i.id in wanted]
    return _page(items, req, "AutoScalingInstances")


def describe_scaling_activities(app, req):
    world = app.world
    if req.get("AutoScalingGroupName") not in (None, world.asg_name):
        return {"Activities": []}
    ids = req.get("ActivityIds")
    with world.lock:
        acts = [{k: v for k, v in a.items() if k != "InstanceId"} for a in world.activities
                if ids is None or a["ActivityId"] in ids]
    return _page(acts, req, "Activities", 100, 100)


def set_instance_health(app, req):
    world = app.world
    with world.lock:
        inst = world.instances.get(req["InstanceId"])
        if inst is None or not inst.in_group or inst.state == "Terminated":
            raise ModelError("Instance Id not found - No managed instance found for "
                             f"instance ID: {req['InstanceId']}")
        world.set_health(inst.id, req["HealthStatus"],
                         req.get("ShouldRespectGracePeriod", True))


def terminate_instance_in_auto_scaling_group(app, req):
    world = app.world
    with world.lock:
        inst = world.instances.get(req["InstanceId"])
        if inst is None or not inst.in_group or inst.state == "Terminated":
            raise ModelError("Instance Id not found - No managed instance found for "
                             f"instance ID: {req['InstanceId']}")
        act = world.begin_terminate(
            inst, f"At {{now}} instance {inst.id} was taken out of service in response to "
            "a user request", req["ShouldDecrementDesiredCapacity"])
        return {"Activity": {k: v for k, v in act.items() if k != "InstanceId"}}


def _lifecycle(app, req, heartbeat):
    _group(app.world, req["AutoScalingGroupName"])
    if not req.get("LifecycleActionToken") and not req.get("InstanceId"):
        raise ModelError("Either LifecycleActionToken or InstanceId must be specified")
    app.world.complete_action(req["LifecycleHookName"], req.get("LifecycleActionResult"),
                              req.get("LifecycleActionToken"), req.get("InstanceId"),
                              heartbeat=heartbeat)


def complete_lifecycle_action(app, req):
    _lifecycle(app, req, False)


def record_lifecycle_action_heartbeat(app, req):
    _lifecycle(app, req, True)


def put_lifecycle_hook(app, req):
    _group(app.world, req["AutoScalingGroupName"])
    old = app.world.hooks.get(req["LifecycleHookName"], {})
    transition = req.get("LifecycleTransition") or old.get("LifecycleTransition")
    put_hook(app.world, req["LifecycleHookName"], transition,
             req.get("HeartbeatTimeout", old.get("HeartbeatTimeout", 3600)),
             req.get("DefaultResult", old.get("DefaultResult", "ABANDON")),
             req.get("NotificationMetadata"))


def describe_lifecycle_hooks(app, req):
    world = app.world
    _group(world, req["AutoScalingGroupName"])
    names = req.get("LifecycleHookNames")
    with world.lock:
        return {"LifecycleHooks": [dict(h) for n, h in world.hooks.items()
                                   if not names or n in names]}


def delete_lifecycle_hook(app, req):
    _group(app.world, req["AutoScalingGroupName"])
    with app.world.lock:
        if app.world.hooks.pop(req["LifecycleHookName"], None) is None:
            raise ModelError(f"No Lifecycle Hook found with name '{req['LifecycleHookName']}'")


def _processes(req):
    procs = req.get("ScalingProcesses") or list(PROCESSES)
    bad = [p for p in procs if p not in PROCESSES]
    if bad:
        raise ModelError(f"Process {bad[0]} is not a valid process")
    return procs


def suspend_processes(app, req):
    world = app.world
    _group(world, req["AutoScalingGroupName"])
    with world.lock:
        for p in _processes(req):
            world.suspended.setdefault(p, f"User suspended at {iso(world.clock.aws_now())}")


def resume_processes(app, req):
    world = app.world
    _group(world, req["AutoScalingGroupName"])
    with world.lock:
        for p in _processes(req):
            world.suspended.pop(p, None)


def create_or_update_tags(app, req):
    world = app.world
    with world.lock:
        for tag in req["Tags"]:
            if tag.get("ResourceId") != world.asg_name or \
                    tag.get("ResourceType", "auto-scaling-group") != "auto-scaling-group":
                raise ModelError(f"AutoScalingGroup name not found - {tag.get('ResourceId')}")
            world.group_tags[tag["Key"]] = {"Value": tag.get("Value", ""),
                                            "PropagateAtLaunch":
                                                bool(tag.get("PropagateAtLaunch"))}


def delete_tags(app, req):
    with app.world.lock:
        for tag in req["Tags"]:
            app.world.group_tags.pop(tag["Key"], None)


def set_desired_capacity(app, req):
    _group(app.world, req["AutoScalingGroupName"])
    app.world.set_desired(req["DesiredCapacity"])


HANDLERS = {
    "DescribeAutoScalingGroups": describe_auto_scaling_groups,
    "DescribeAutoScalingInstances": describe_auto_scaling_instances,
    "DescribeScalingActivities": describe_scaling_activities,
    "SetInstanceHealth": set_instance_health,
    "TerminateInstanceInAutoScalingGroup": terminate_instance_in_auto_scaling_group,
    "CompleteLifecycleAction": complete_lifecycle_action,
    "RecordLifecycleActionHeartbeat": record_lifecycle_action_heartbeat,
    "PutLifecycleHook": put_lifecycle_hook,
    "DescribeLifecycleHooks": describe_lifecycle_hooks,
    "DeleteLifecycleHook": delete_lifecycle_hook,
    "SuspendProcesses": suspend_processes,
    "ResumeProcesses": resume_processes,
    "CreateOrUpdateTags": create_or_update_tags,
    "DeleteTags": delete_tags,
    "SetDesiredCapacity": set_desired_capacity,
}
