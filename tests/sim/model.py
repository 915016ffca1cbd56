"""The Auto Scaling group model: instances, lifecycle states, health, hooks, activities.

Model timers (launch and termination delays, grace periods, hook heartbeat timeouts)
run on a scaled monotonic clock (`time_scale` model seconds per wall second) so tests
can exercise them in seconds. Everything the sim serves or signs (launch times, activity
times, notice times) is wall-clock time, shifted by the AWS clock skew where AWS would
stamp it. One lock guards the model; tick() advances it and is called by a thread.
"""
import datetime
import secrets
import threading
import time
import uuid

ACCOUNT = "123456789012"
LAUNCHING = "autoscaling:EC2_INSTANCE_LAUNCHING"
TERMINATING = "autoscaling:EC2_INSTANCE_TERMINATING"
ACTIVE_STATES = ("Pending", "Pending:Wait", "Pending:Proceed", "InService")
# Terminating:Retained: an abandoned termination in a group that retains on abandon
# (Auto Scaling user guide, "Manage retained instances").
STATES = ACTIVE_STATES + ("Terminating", "Terminating:Wait", "Terminating:Proceed",
                          "Terminating:Retained", "Terminated", "Standby",
                          "Warmed:Pending", "Warmed:Pending:Wait", "Warmed:Pending:Proceed",
                          "Warmed:Running", "Warmed:Stopped", "Warmed:Hibernated")
WARM_POOL_STATES = ("Running", "Stopped", "Hibernated")
PROCESSES = ("Launch", "Terminate", "AddToLoadBalancer", "AlarmNotification",
             "AZRebalance", "HealthCheck", "InstanceRefresh", "ReplaceUnhealthy",
             "ScheduledActions")


class ModelError(Exception):
    """A request the group refuses; code/message/status as AWS would send them."""

    def __init__(self, message, code="ValidationError", status=400):
        super().__init__(message)
        self.code, self.message, self.status = code, message, status


def iso(ts):
    return datetime.datetime.fromtimestamp(ts, datetime.timezone.utc).strftime(
        "%Y-%m-%dT%H:%M:%SZ")


class Clock:
    def __init__(self, time_scale=1.0):
        if time_scale <= 0:
            raise ValueError("time scale must be positive")
        self.scale = time_scale
        self.skew = 0.0
        self._t0 = time.monotonic()

    def model(self):
        return (time.monotonic() - self._t0) * self.scale

    def aws_now(self):
        """AWS's idea of the wall clock (the host's, plus the injected skew)."""
        return time.time() + self.skew


class Instance:
    def __init__(self, index, *, az, spot, model_now, tags):
        self.id = "i-" + secrets.token_hex(9)[:17]
        self.index = index
        self.instance_type = "t3.micro"
        self.ami = "ami-0c0ffee0ddba11d0e"
        self.az = az
        self.private_ip = f"10.0.{index // 250}.{index % 250 + 4}"
        self.spot = spot
        self.state = "Pending"
        self.health = "Healthy"
        self.launch_time = time.time()
        self.launched_model = model_now
        self.timer = model_now
        self.action = None              # active lifecycle action (dict) if in a :Wait state
        self.imds_port = None
        self.tags = dict(tags)
        self.spot_action = None         # {"action": "terminate", "time": "..."}
        self.spot_in = 120.0            # seconds from the notice to the action
        self.rebalance = None           # {"noticeTime": "..."}
        self.scheduled_events = []
        self.target_override = None
        self.protected = False
        self.respect_grace = True
        self.in_group = True
        self.retain = False             # an abandoned termination the group retains
        self.warm_state = "Running"     # the warm pool's PoolState while in it

    def target_lifecycle_state(self):
        if self.target_override:
            return self.target_override
        if self.state.startswith("Warmed:"):    # where the pool keeps it
            return "Warmed:" + self.warm_state
        if self.state.startswith("Terminat"):
            return "Terminated"
        return "InService"

    def to_json(self):
        return {"id": self.id, "state": self.state, "health": self.health,
                "imds_port": self.imds_port, "az": self.az, "spot": self.spot,
                "launch_time": self.launch_time, "private_ip": self.private_ip,
                "instance_type": self.instance_type, "ami": self.ami,
                "target_lifecycle_state": self.target_lifecycle_state(),
                "lifecycle_action": dict(self.action) if self.action else None,
                "in_group": self.in_group, "spot_action": self.spot_action, "rebalance": self.rebalance,
                "scheduled_events": self.scheduled_events, "tags": self.tags}


class World:
    def __init__(self, *, asg_name="drover-asg", instances=1, min_size=None,
                 max_size=None, desired=None, grace=0, region="us-east-1", spot=False,
                 tags_in_imds=True, time_scale=1.0, launch_delay=1.0,
                 terminate_delay=1.0, standalone=0, replace_delay=0.0):
        self.lock = threading.RLock()
        self.clock = Clock(time_scale)
        self.region = region
        self.asg_name = asg_name
        self.desired = instances if desired is None else desired
        self.min_size = min(self.desired, instances) if min_size is None else min_size
        self.max_size = max(self.desired, instances) if max_size is None else max_size
        self.grace = grace
        self.spot = spot
        self.tags_in_imds = tags_in_imds
        self.launch_delay = launch_delay
        self.terminate_delay = terminate_delay
        # How long the group leaves an Unhealthy instance InService before it replaces it
        # (AWS takes a while too): the window in which operators can still intervene.
        self.replace_delay = replace_delay
        self.created = time.time()
        self.hooks = {}                 # name -> hook dict (botocore LifecycleHook shape)
        # InstanceLifecyclePolicy.RetentionTriggers.TerminateHookAbandon: None (no
        # policy), "retain" or "terminate"
        self.retention = None
        self.suspended = {}             # process -> reason
        self.group_tags = {}            # key -> {"Value", "PropagateAtLaunch"}
        self.health_check_type = "EC2"  # "ELB": the load balancer's checks replace too
        self.activities = []            # newest first
        self.instances = {}             # id -> Instance (terminated ones kept)
        self.on_launch = None           # callbacks set by the server
        self.on_terminated = None
        self._count = 0
        now = self.clock.model()
        for _ in range(instances):
            inst = self._new_instance(now)
            inst.state = "InService"
        for _ in range(standalone):     # instances outside any group
            inst = self._new_instance(now, in_group=False)
            inst.state = "InService"

    # ---- helpers ----
    @property
    def arn(self):
        return (f"arn:aws:autoscaling:{self.region}:{ACCOUNT}:autoScalingGroup:"
                f"{uuid.uuid5(uuid.NAMESPACE_DNS, self.asg_name)}:"
                f"autoScalingGroupName/{self.asg_name}")

    def live_instances(self):
        return [i for i in self.instances.values() if i.state != "Terminated"]

    def group_instances(self):
        return [i for i in self.live_instances() if i.in_group]

    def active(self):
        return [i for i in self.group_instances() if i.state in ACTIVE_STATES]

    def get(self, instance_id):
        inst = self.instances.get(instance_id)
        if inst is None or inst.state == "Terminated" or not inst.in_group:
            raise ModelError(f"The instance ID '{instance_id}' does not exist")
        return inst

    def _new_instance(self, now, in_group=True):
        self._count += 1
        azs = [self.region + s for s in "abc"]
        tags = {"Name": "drover-sim"}
        if in_group:
            tags["aws:autoscaling:groupName"] = self.asg_name
            tags.update({k: v["Value"] for k, v in self.group_tags.items()
                         if v.get("PropagateAtLaunch")})
        inst = Instance(self._count, az=azs[(self._count - 1) % 3], spot=self.spot,
                        model_now=now, tags=tags)
        inst.in_group = in_group
        inst.timer = now + self.launch_delay
        self.instances[inst.id] = inst
        if self.on_launch:
            self.on_launch(inst)
        return inst

    def _activity(self, description, cause, inst=None, status="InProgress"):
        now = self.clock.aws_now()
        act = {"ActivityId": str(uuid.uuid4()), "AutoScalingGroupName": self.asg_name,
               "AutoScalingGroupARN": self.arn, "Description": description,
               "Cause": cause.replace("{now}", iso(now)), "StartTime": now,
               "StatusCode": status, "Progress": 0 if status == "InProgress" else 100,
               "Details": '{"Subnet ID":"subnet-0sim","Availability Zone":"%s"}'
                          % (inst.az if inst else self.region + "a"),
               "InstanceId": inst.id if inst else None}
        if status != "InProgress":
            act["EndTime"] = now
        self.activities.insert(0, act)
        del self.activities[1000:]
        return act

    def _finish_activity(self, inst, kind, status="Successful"):
        for act in self.activities:
            if act["InstanceId"] == inst.id and act["Description"].startswith(kind) \
                    and act["StatusCode"] not in ("Successful", "Failed", "Cancelled"):
                act.update(StatusCode=status, Progress=100, EndTime=self.clock.aws_now())
                return

    def _hook(self, transition):
        for hook in self.hooks.values():
            if hook["LifecycleTransition"] == transition:
                return hook
        return None

    def _start_wait(self, inst, hook, state, now):
        hb = hook["HeartbeatTimeout"]
        inst.state = state
        inst.action = {"hook": hook["LifecycleHookName"], "token": str(uuid.uuid4()),
                       "deadline": now + hb, "global_deadline": now + hook["GlobalTimeout"],
                       "result": None, "heartbeats": 0}

    # ---- requests (callers hold no lock; these take it) ----
    def begin_terminate(self, inst, cause, decrement=False):
        with self.lock:
            if inst.state == "Terminating:Retained":
                # what ends a retention: the instance goes, no hooks again
                inst.state, inst.action = "Terminating:Proceed", None
                inst.timer = self.clock.model() + self.terminate_delay
                return self._activity(f"Terminating EC2 instance: {inst.id}",
                                      cause + " (retained instance).", inst)
            if inst.state not in ACTIVE_STATES + ("Standby",):
                raise ModelError(f"The instance {inst.id} is already terminating")
            old = self.desired
            if decrement:
                if self.desired - 1 < self.min_size:
                    raise ModelError(
                        f"Currently, desiredCapacity {self.desired} is equal to or less "
                        f"than minSize {self.min_size}; ShouldDecrementDesiredCapacity "
                        "cannot be set to true")
                self.desired -= 1
            inst.state = "Terminating"
            inst.action = None
            inst.timer = self.clock.model()
            if decrement:
                cause += f", shrinking the capacity from {old} to {self.desired}"
            return self._activity(f"Terminating EC2 instance: {inst.id}", cause + ".",
                                  inst)

    def ec2_terminate(self, inst):
        """TerminateInstances: EC2 shuts the instance down at once; a group notices
        (its EC2 health check) and takes it out of service, then replaces it."""
        with self.lock:
            was_terminating = inst.state.startswith("Terminating")
            inst.state, inst.action = "Terminating:Proceed", None
            inst.timer = self.clock.model() + self.terminate_delay
            inst.health = "Unhealthy"
            if inst.in_group and not was_terminating:
                self._activity(f"Terminating EC2 instance: {inst.id}",
                               "At {now} an instance was taken out of service in response "
                               "to an EC2 health check indicating it has been terminated "
                               "or stopped.", inst)

    def set_health(self, instance_id, health, respect_grace=True):
        with self.lock:
            inst = self.get(instance_id)
            if health not in ("Healthy", "Unhealthy"):
                raise ModelError("Valid values for HealthStatus are Healthy and Unhealthy")
            if health == "Unhealthy" and inst.health != "Unhealthy":
                inst.unhealthy_since = self.clock.model()
            inst.health = health
            inst.respect_grace = respect_grace

    def complete_action(self, hook_name, result, token=None, instance_id=None,
                        heartbeat=False):
        with self.lock:
            if hook_name not in self.hooks:
                raise ModelError(f"No Lifecycle Hook found with name '{hook_name}' "
                                 f"for group '{self.asg_name}'")
            inst = None
            for cand in self.group_instances():
                act = cand.action
                if act and act["hook"] == hook_name and \
                        (act["token"] == token or (token is None and cand.id == instance_id)):
                    inst = cand
                    break
            if inst is None:
                what = f"token {token}" if token else f"instance ID {instance_id}"
                raise ModelError(f"No active Lifecycle Action found with {what}")
            now = self.clock.model()
            act = inst.action
            if heartbeat:
                hb = self.hooks[hook_name]["HeartbeatTimeout"]
                act["deadline"] = min(now + hb, act["global_deadline"])
                act["heartbeats"] += 1
                return
            if result not in ("CONTINUE", "ABANDON"):
                raise ModelError("LifecycleActionResult must be CONTINUE or ABANDON")
            act["result"] = result
            self._advance(inst, now)

    def set_desired(self, desired=None, min_size=None, max_size=None):
        with self.lock:
            lo = self.min_size if min_size is None else int(min_size)
            hi = self.max_size if max_size is None else int(max_size)
            want = self.desired if desired is None else int(desired)
            if not 0 <= lo <= want <= hi:
                raise ModelError(f"New SetDesiredCapacity value {want} is outside the "
                                 f"bounds min {lo} and max {hi}")
            self.min_size, self.max_size, self.desired = lo, hi, want
            self._reconcile(self.clock.model())

    def warm_pool(self, inst, action, pool_state="Running"):
        """An InService instance enters the warm pool (as scale-in with the reuse policy
        does: out of desired capacity), or a warmed one leaves it for InService (as a
        scale-out does: it launches again, through Pending and the launch hook)."""
        with self.lock:
            if action == "enter":
                if inst.state != "InService" or pool_state not in WARM_POOL_STATES:
                    raise ModelError(f"The instance {inst.id} cannot enter the warm pool")
                self.desired -= 1
                inst.warm_state, inst.state = pool_state, "Warmed:Pending"
            elif action == "leave":
                if not inst.state.startswith("Warmed:") or "Pending" in inst.state:
                    raise ModelError(f"The instance {inst.id} is not warmed")
                self.desired += 1
                inst.state = "Pending"
            else:
                raise ModelError("action must be enter or leave")
            inst.action, inst.timer = None, self.clock.model() + self.launch_delay

    # ---- the clock ----
    def tick(self):
        with self.lock:
            now = self.clock.model()
            for inst in self.live_instances():
                self._advance(inst, now)
            self._reconcile(now)

    def _advance(self, inst, now):
        s = inst.state
        if s == "Pending" and now >= inst.timer:
            hook = self._hook(LAUNCHING)
            if hook:
                self._start_wait(inst, hook, "Pending:Wait", now)
            else:
                self._in_service(inst)
        elif s == "Warmed:Pending" and now >= inst.timer:
            hook = self._hook(LAUNCHING)       # launch hooks run on entering the pool too
            if hook:
                self._start_wait(inst, hook, "Warmed:Pending:Wait", now)
            else:
                inst.state = "Warmed:" + inst.warm_state
        elif s == "Warmed:Pending:Wait":
            act = inst.action
            if act["result"] is None and now < act["deadline"] and now < act["global_deadline"]:
                return
            hook = self.hooks.get(act["hook"])
            result = act["result"] or (hook["DefaultResult"] if hook else "ABANDON")
            inst.action = None
            if result == "CONTINUE":
                inst.state = "Warmed:" + inst.warm_state
            else:
                inst.state, inst.timer = "Terminating:Proceed", now + self.terminate_delay
        elif s in ("Pending:Wait", "Terminating:Wait"):
            act = inst.action
            timed_out = now >= act["deadline"] or now >= act["global_deadline"]
            if act["result"] is None and not timed_out:
                return
            hook = self.hooks.get(act["hook"])
            result = act["result"] or (hook["DefaultResult"] if hook else "ABANDON")
            inst.action = None
            if s == "Terminating:Wait":
                inst.state, inst.timer = "Terminating:Proceed", now + self.terminate_delay
                inst.retain = result == "ABANDON" and self.retention == "retain"
            elif result == "CONTINUE":
                self._in_service(inst)
            else:
                self._finish_activity(inst, "Launching", "Cancelled")
                inst.state = "Terminating:Proceed"
                inst.timer = now + self.terminate_delay
                self._activity(f"Terminating EC2 instance: {inst.id}",
                               f"At {{now}} instance {inst.id} was taken out of service "
                               "in response to a launch lifecycle action that was "
                               "abandoned.", inst)
        elif s == "InService" and inst.health == "Unhealthy" and inst.in_group:
            in_grace = inst.respect_grace and \
                now < inst.launched_model + self.grace
            waited = now >= getattr(inst, "unhealthy_since", now) + self.replace_delay
            if waited and not in_grace and \
                    not ({"ReplaceUnhealthy", "Terminate"} & set(self.suspended)):
                self.begin_terminate(inst, "At {now} an instance was taken out of "
                                     "service in response to a user health-check")
        elif s == "Terminating" and now >= inst.timer:
            hook = self._hook(TERMINATING)
            if hook:
                self._start_wait(inst, hook, "Terminating:Wait", now)
            else:
                inst.state, inst.timer = "Terminating:Proceed", now + self.terminate_delay
        elif s == "Terminating:Proceed" and now >= inst.timer and inst.retain:
            inst.retain = False             # until TerminateInstanceInAutoScalingGroup
            inst.state = "Terminating:Retained"
            self._finish_activity(inst, "Terminating", "Failed")
        elif s == "Terminating:Proceed" and now >= inst.timer:
            inst.state = "Terminated"
            inst.terminated_at = time.time()
            self._finish_activity(inst, "Terminating")
            if self.on_terminated:
                self.on_terminated(inst)

    def _in_service(self, inst):
        inst.state = "InService"
        inst.launched_model = min(inst.launched_model, self.clock.model())
        self._finish_activity(inst, "Launching")

    def _reconcile(self, now):
        active = self.active()
        if len(active) < self.desired and "Launch" not in self.suspended:
            before = len(active)
            for _ in range(self.desired - len(active)):
                inst = self._new_instance(now)
                self._activity(
                    f"Launching a new EC2 instance: {inst.id}",
                    "At {now} an instance was started in response to a difference "
                    "between desired and actual capacity, increasing the capacity "
                    f"from {before} to {self.desired}.", inst)
        elif len(active) > self.desired and "Terminate" not in self.suspended:
            victims = sorted((i for i in active if not i.protected),
                             key=lambda i: i.launch_time)
            for inst in victims[:len(active) - self.desired]:
                self.begin_terminate(inst, "At {now} an instance was taken out of "
                                     "service in response to a difference between desired "
                                     "and actual capacity, shrinking the capacity from "
                                     f"{len(active)} to {self.desired}")

    def to_json(self):
        with self.lock:
            return {"group": {"name": self.asg_name, "arn": self.arn,
                              "desired": self.desired, "min": self.min_size,
                              "max": self.max_size, "grace": self.grace,
                              "retention": self.retention,
                              "hooks": list(self.hooks.values()),
                              "suspended": dict(self.suspended),
                              "tags": self.group_tags},
                    "instances": [i.to_json() for i in self.instances.values()],
                    "activities": [dict(a, StartTime=iso(a["StartTime"]),
                                        EndTime=iso(a["EndTime"]) if a.get("EndTime")
                                        else None) for a in self.activities],
                    "clock": {"time_scale": self.clock.scale, "skew": self.clock.skew,
                              "model": self.clock.model()}}
