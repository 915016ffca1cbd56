"""The fleet test: 20 drover processes, one per instance of the same simulated 20-instance
group (fleet.py), replacements getting a drover of their own.

(a) every liveness check on every instance fails at once: at no time is more capacity
    missing than the fleet guard's budget plus the measured race overshoot; with the
    storm brake high the fleet converges to all replaced, with the default storm brake
    (25% an hour) replacements stop where it says;
(b) a shared dependency fails everywhere: nothing is replaced;
(c) IMDS or the AWS endpoint fails for the whole fleet: nothing is replaced; once the
    fault is cleared, with the checks still failing, replacement resumes.

Every run appends its figures to $DROVER_FLEET_REPORT (if set), which tests/chaos/run
summarises.
"""
import json
import os
import time

import pytest
from fleet import Fleet, health_replacements, missing_capacity

N = 20
BUDGET = 2                 # max_unhealthy "10%" of 20
STORM_DEFAULT = 5          # max_replacements_per_hour "25%" of 20
# The race window: two instances can both pass the fleet guard when each makes its second
# look before the other's SetInstanceHealth reaches the group. That window (three Describe
# calls and the request: 5-11 ms on this sim under a 20-drover load, 0.1 s on a slower
# one) is small against the jitter (drover's default 5 s): with the 0.1 s window an extra
# instance came about every other run, two in 1 run of 20, three never. The bound asserted is
# the largest overshoot measured over repeated runs (docs/chaos.md: what bounds it).
OVERSHOOT_BOUND = 2
TIME_SCALE = 10
POLICY = {"jitter": 5.0, "confirm_interval": 1, "max_unhealthy": "10%"}


def report(name, **figures):
    path = os.environ.get("DROVER_FLEET_REPORT")
    line = json.dumps(dict(figures, scenario=name, at=time.time()))
    print("fleet:", line)
    if path:
        with open(path, "a") as f:
            f.write(line + "\n")


@pytest.fixture
def fleet(tmp_path, drover_bin):
    made = []

    def make(**kw):
        f = Fleet(tmp_path / f"fleet{len(made)}", drover_bin, instances=N,
                  time_scale=TIME_SCALE, **kw)
        made.append(f)
        return f
    yield make
    problems = []
    for f in made:
        problems += [f"crashed: {c}" for c in f.crashed()]
        problems += f.stop()
    assert not problems, problems


def no_crash(f):
    assert f.crashed() == [], f.crashed()


def all_fail(fleet, storm):
    f = fleet()
    f.start(policy=dict(POLICY, max_replacements_per_hour=storm))
    t0 = time.monotonic()
    f.fail_all("web")
    return f, t0


def assert_within_budget(f, t0, name, **extra):
    worst = f.max_missing(t0)
    overshoot = max(0, worst - BUDGET)
    windows, races = f.decision_windows()
    report(name, max_missing=worst, budget=BUDGET, overshoot=overshoot, races=races,
           max_window_s=max((w for _, w in windows), default=None),
           samples=len(f.samples), **extra)
    assert f.errors == [], f.errors[:5]
    assert len(f.samples) > 50, "the sampler did not keep up"
    assert worst <= BUDGET + OVERSHOOT_BOUND, \
        f"{worst} instances missing at once, budget {BUDGET} + overshoot {OVERSHOOT_BOUND}"
    return overshoot


def scenario_a_converges(fleet, tag):
    # Storm brake out of the way: every original instance is replaced, a few at a time.
    f, t0 = all_fail(fleet, 1000)
    st = f.wait(lambda st: len(f.replaced_originals(st)) == N and
                missing_capacity(st) == 0 and st, 240, "every original instance replaced")
    took = time.monotonic() - t0
    no_crash(f)
    calls = f.replacement_calls()
    # Exactly one request per original instance, none for a replacement.
    asked = sorted(c["params"]["InstanceId"] for c in calls)
    assert asked == sorted(f.original), asked
    assert len(health_replacements(st)) == N
    assert_within_budget(f, t0, "a-converge", seconds=round(took, 1), run=tag)


def test_a_all_fail_converges_within_budget(fleet):
    scenario_a_converges(fleet, 0)


@pytest.mark.full
@pytest.mark.parametrize("run", range(1, 5))
def test_a_all_fail_converges_repeated(fleet, run):
    scenario_a_converges(fleet, run)


@pytest.mark.full
def test_a_all_fail_default_storm_brake_stops(fleet):
    f, t0 = all_fail(fleet, "25%")
    f.wait(lambda st: len(health_replacements(st)) >= STORM_DEFAULT, 120,
           "the storm brake's worth of replacements")
    # Then it holds: everyone left sees the brake, nothing more is asked.
    held = f.wait(lambda st: sum(1 for iid, s in f.statuses().items()
                                 if iid in f.original and
                                 s["heal"]["decision"]["reason"] == "storm-brake")
                  >= N - STORM_DEFAULT - OVERSHOOT_BOUND, 60,
                  "the remaining instances held by the storm brake")
    assert held
    n = len(f.replacement_calls())
    time.sleep(8)
    no_crash(f)
    calls = f.replacement_calls()
    assert len(calls) == n, "replacement went on past the storm brake"
    assert STORM_DEFAULT <= n <= STORM_DEFAULT + OVERSHOOT_BOUND, n
    assert_within_budget(f, t0, "a-storm-brake", replacements=n)


@pytest.mark.full
def test_b_shared_dependency_fails_everywhere(fleet):
    f = fleet()
    f.start(checks=[{"name": "web"}, {"name": "db", "role": "dependency"}], policy=POLICY)
    t0 = time.monotonic()
    f.fail_all("db", also_new=True)
    f.wait(lambda st: [s["heal"]["verdict"] for s in f.statuses().values()] ==
           ["degraded"] * N, 30, "every instance degraded")
    time.sleep(6)
    no_crash(f)
    assert f.replacement_calls() == []
    assert f.max_missing(t0) == 0
    report("b-dependency", replacements=0)


def outage_then_resume(f, t0, name):
    time.sleep(8)
    no_crash(f)
    assert f.replacement_calls() == [], "replaced during an outage"
    assert f.max_missing(t0) == 0
    f.sim.clear_faults()
    t1 = time.monotonic()
    f.wait(lambda st: len(health_replacements(st)) >= BUDGET, 90,
           "replacement resumes once the fault is cleared")
    no_crash(f)
    assert_within_budget(f, t1, name, resumed_after=round(time.monotonic() - t1, 1))


@pytest.mark.full
def test_c_imds_down_for_the_whole_fleet(fleet):
    f = fleet()
    f.sim.fault("imds", kind="status", status=503)
    f.new_flag = 2  # every instance's check fails from the start
    t0 = time.monotonic()
    f.start(policy=POLICY)
    outage_then_resume(f, t0, "c-imds")


@pytest.mark.full
def test_c_aws_down_for_the_whole_fleet(fleet):
    f = fleet()
    f.start(policy=POLICY)
    f.sim.fault("aws", kind="status", status=503)
    t0 = time.monotonic()
    f.fail_all("web")
    f.wait(lambda st: [s["heal"]["verdict"] for s in f.statuses().values()] ==
           ["unhealthy"] * N, 30, "every instance unhealthy")
    outage_then_resume(f, t0, "c-aws")
