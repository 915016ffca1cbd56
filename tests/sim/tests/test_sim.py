"""The sim process itself: ready file, control API basics, clean stop."""
import json
import os
import signal

import pytest

from simfixture import Sim, SimError


def test_ready_file_and_clean_sigterm(tmp_path):
    s = Sim(tmp_path, instances=2)
    with open(s.ready_file) as f:
        ready = json.load(f)
    assert set(ready["imds"]) == set(s.instance_ids)
    assert ready["pid"] == s.proc.pid
    assert len({ready["aws_port"], ready["control_port"], *ready["imds"].values()}) == 4
    s.proc.send_signal(signal.SIGTERM)
    assert s.proc.wait(timeout=10) == 0
    assert not os.path.exists(s.ready_file)


def test_two_sims_side_by_side(sim_factory):
    a, b = sim_factory(), sim_factory()
    assert a.aws_url != b.aws_url and a.imds_url() != b.imds_url()
    assert a.static_credentials != b.static_credentials


def test_control_errors(sim):
    with pytest.raises(SimError) as e:
        sim.control("GET", "/nope")
    assert e.value.status == 404
    with pytest.raises(SimError) as e:
        sim.set_instance("i-nope", health="Unhealthy")
    assert e.value.status == 404
    with pytest.raises(SimError) as e:
        sim.set_instance(sim.instance_ids[0], lifecycle_state="Sideways")
    assert e.value.status == 400


def test_bad_arguments_fail_fast(tmp_path):
    with pytest.raises(RuntimeError):
        Sim(tmp_path, extra_args=["--lifecycle-hook", "bad"], start_timeout=10)
