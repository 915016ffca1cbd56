"""`drover metadata` against the simulator's IMDS: IMDSv2 tokens, their cache and expiry,
401 and re-token, IMDSv1 refused unless allowed, slow and failing IMDS, proxies ignored."""
import json
import socket
import time

import pytest

from simfixture import Sim, sim_factory  # noqa: F401  (sim_factory is a fixture)

TOKEN = "/latest/api/token"
INSTANCE_ID = "/latest/meta-data/instance-id"


@pytest.fixture(scope="module")
def shared_sim(tmp_path_factory):
    with Sim(tmp_path_factory.mktemp("sim")) as s:
        yield s


class FreshView:
    """The module's sim, reset for one test: no faults, IMDSv1 off, no valid tokens, and
    an IMDS log that starts with the test. Tests whose requests outlive them (latency
    faults) take a sim of their own from sim_factory instead."""

    def __init__(self, sim):
        self._sim = sim
        sim.clear_faults()
        sim.control("POST", "/imds/v1", {"enabled": False})
        sim.control("POST", "/imds/expire-tokens", {})
        self._mark = len(sim.imds_calls())

    def __getattr__(self, name):
        return getattr(self._sim, name)

    def imds_calls(self):
        return self._sim.imds_calls()[self._mark:]


@pytest.fixture
def sim(shared_sim):
    return FreshView(shared_sim)


def write_config(tmp_path, endpoint, **imds):
    settings = {"endpoint": f'"{endpoint}"', **{k: (str(v).lower() if isinstance(v, bool)
                                                    else str(v)) for k, v in imds.items()}}
    body = " ".join(f"{k} = {v};" for k, v in settings.items())
    path = tmp_path / "drover.conf"
    # plugins.user: the default "drover" is checked at load and need not exist here.
    path.write_text(f"imds: {{ {body} }};\nplugins: {{ user = \"\"; }};\n")
    return str(path)


def imds_log(sim, method=None, path=None):
    return [c for c in sim.imds_calls()
            if (method is None or c["method"] == method)
            and (path is None or c["path"] == path)]


def closed_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def metadata(run_drover, *args, **kw):
    return run_drover("metadata", *args, **kw)


def test_identity_document_by_default(sim, run_drover, tmp_path):
    conf = write_config(tmp_path, sim.imds_url())
    p = metadata(run_drover, "-c", conf)
    assert p.returncode == 0, p.stderr
    doc = json.loads(p.stdout)
    assert doc["instanceId"] == sim.instance_ids[0]
    assert doc["region"] == "us-east-1"
    assert [c["method"] for c in sim.imds_calls()] == ["PUT", "GET"]


@pytest.mark.parametrize("path", ["meta-data/instance-id", "/latest/meta-data/instance-id",
                                  "latest/meta-data/instance-id"])
def test_path_forms(sim, run_drover, path):
    p = metadata(run_drover, "--endpoint", sim.imds_url(), path)
    assert p.returncode == 0, p.stderr
    assert p.stdout == sim.instance_ids[0] + "\n"
    assert imds_log(sim, "GET")[-1]["path"] == INSTANCE_ID


def test_endpoint_option_overrides_config(sim, run_drover, tmp_path):
    conf = write_config(tmp_path, f"http://127.0.0.1:{closed_port()}")
    p = metadata(run_drover, "-c", conf, "--endpoint", sim.imds_url() + "/",
                 "meta-data/instance-life-cycle")
    assert p.returncode == 0, p.stderr
    assert p.stdout == "on-demand\n"


def test_not_found(sim, run_drover):
    p = metadata(run_drover, "--endpoint", sim.imds_url(), "meta-data/spot/instance-action")
    assert p.returncode == 1
    assert p.stdout == ""
    assert p.stderr.startswith(f"drover: IMDS at {sim.imds_url()}: "
                               "GET /latest/meta-data/spot/instance-action failed: "
                               "not found (HTTP 404)")
    assert len(imds_log(sim, "GET")) == 1  # a 404 is an answer, not retried


def test_bad_path_is_refused_locally(sim, run_drover):
    p = metadata(run_drover, "--endpoint", sim.imds_url(), "meta-data/../api/token")
    assert p.returncode == 2
    assert "invalid IMDS path" in p.stderr
    assert sim.imds_calls() == []


def test_connection_refused(run_drover, tmp_path):
    url = f"http://127.0.0.1:{closed_port()}"
    conf = write_config(tmp_path, url, retries=1)
    p = metadata(run_drover, "-c", conf)
    assert p.returncode == 1
    assert p.stderr.startswith(f"drover: IMDS at {url}: token request failed: "
                               "connection refused, after 2 attempts")


def test_ipv6_endpoint_is_a_url(run_drover):
    p = metadata(run_drover, "--endpoint", f"http://[::1]:{closed_port()}")
    assert p.returncode == 1
    assert "IMDS at http://[::1]:" in p.stderr
    assert "token request failed" in p.stderr


def test_bad_config_is_reported(run_drover, tmp_path):
    conf = tmp_path / "drover.conf"
    conf.write_text('imds: { endpoint = "http://127.0.0.1:1"; token_ttl = 0; };\n')
    p = metadata(run_drover, "-c", str(conf))
    assert p.returncode == 1
    assert "drover.conf:1" in p.stderr


def test_token_is_cached(sim, run_drover, tmp_path):
    conf = write_config(tmp_path, sim.imds_url())
    p = metadata(run_drover, "-c", conf, "--repeat", "3", "--interval", "0.1",
                 "meta-data/instance-id")
    assert p.returncode == 0, p.stderr
    assert p.stdout == (sim.instance_ids[0] + "\n") * 3
    assert len(imds_log(sim, "PUT", TOKEN)) == 1
    assert [c["status"] for c in imds_log(sim, "GET")] == [200, 200, 200]


def test_token_refreshed_before_expiry(sim, run_drover, tmp_path):
    # A 2 s token is replaced after 1 s: every GET below needs a new one, and none of
    # them may be refused for an expired token.
    conf = write_config(tmp_path, sim.imds_url(), token_ttl=2)
    p = metadata(run_drover, "-c", conf, "--repeat", "3", "--interval", "1.2",
                 "meta-data/instance-id")
    assert p.returncode == 0, p.stderr
    assert len(imds_log(sim, "PUT", TOKEN)) == 3
    assert [c["status"] for c in imds_log(sim, "GET")] == [200, 200, 200]


def test_token_expired_in_flight_is_refetched(sim_factory, run_drover, tmp_path):
    sim = sim_factory()
    # The GET is held 1.5 s, so its 1 s token has expired when IMDS reads it: 401, a new
    # token, and the GET again.
    sim.fault("imds", path=INSTANCE_ID, kind="latency", seconds=1.5, count=1)
    conf = write_config(tmp_path, sim.imds_url(), token_ttl=1, timeout_ms=4000)
    p = metadata(run_drover, "-c", conf, "meta-data/instance-id")
    assert p.returncode == 0, p.stderr
    assert p.stdout == sim.instance_ids[0] + "\n"
    assert [c["status"] for c in imds_log(sim, "GET")] == [401, 200]
    assert len(imds_log(sim, "PUT", TOKEN)) == 2


def test_expired_tokens_between_requests(sim, run_drover, tmp_path):
    conf = write_config(tmp_path, sim.imds_url())
    sim.fault("imds", path=INSTANCE_ID, kind="status", status=401, count=1)
    p = metadata(run_drover, "-c", conf, "meta-data/instance-id")
    assert p.returncode == 0, p.stderr
    assert [c["status"] for c in imds_log(sim, "GET")] == [401, 200]
    assert len(imds_log(sim, "PUT", TOKEN)) == 2


def test_401_after_a_fresh_token_is_final(sim, run_drover):
    sim.fault("imds", path=INSTANCE_ID, kind="status", status=401)
    p = metadata(run_drover, "--endpoint", sim.imds_url(), "meta-data/instance-id")
    assert p.returncode == 1
    assert "GET /latest/meta-data/instance-id failed: access denied (HTTP 401)" in p.stderr
    assert len(imds_log(sim, "PUT", TOKEN)) == 2  # re-token once, not a loop
    assert len(imds_log(sim, "GET")) == 2


@pytest.mark.parametrize("status", [403, 404, 405])
def test_v1_refused_by_default(sim, run_drover, status):
    sim.control("POST", "/imds/v1", {"enabled": True})
    sim.fault("imds", path=TOKEN, kind="status", status=status)
    p = metadata(run_drover, "--endpoint", sim.imds_url(), "meta-data/instance-id")
    assert p.returncode == 1
    assert f"token request failed: IMDSv2 not offered (HTTP {status})" in p.stderr
    assert "allow_v1" in p.stderr
    assert imds_log(sim, "GET") == []


def test_v1_used_when_allowed(sim, run_drover, tmp_path):
    sim.control("POST", "/imds/v1", {"enabled": True})
    sim.fault("imds", path=TOKEN, kind="status", status=405)
    conf = write_config(tmp_path, sim.imds_url(), allow_v1=True)
    p = metadata(run_drover, "-c", conf, "meta-data/instance-id")
    assert p.returncode == 0, p.stderr
    assert p.stdout == sim.instance_ids[0] + "\n"
    assert [c["status"] for c in imds_log(sim, "GET")] == [200]


def test_v1_allowed_but_imds_wants_tokens(sim, run_drover):
    sim.control("POST", "/imds/v1", {"enabled": False})
    sim.fault("imds", path=TOKEN, kind="status", status=404)
    p = metadata(run_drover, "--endpoint", sim.imds_url(), "--allow-v1", "meta-data/instance-id")
    assert p.returncode == 1
    assert "access denied (HTTP 401)" in p.stderr


def test_slow_imds_is_retried(sim_factory, run_drover, tmp_path):
    sim = sim_factory()
    sim.fault("imds", path=INSTANCE_ID, kind="latency", seconds=2, count=1)
    conf = write_config(tmp_path, sim.imds_url(), timeout_ms=400, retries=3)
    t0 = time.monotonic()
    p = metadata(run_drover, "-c", conf, "meta-data/instance-id")
    assert p.returncode == 0, p.stderr
    assert p.stdout == sim.instance_ids[0] + "\n"
    assert time.monotonic() - t0 < 5


def test_slow_imds_gives_up_in_bounded_time(sim_factory, run_drover, tmp_path):
    sim = sim_factory()
    sim.fault("imds", path=INSTANCE_ID, kind="latency", seconds=3)
    conf = write_config(tmp_path, sim.imds_url(), timeout_ms=300, retries=2)
    t0 = time.monotonic()
    p = metadata(run_drover, "-c", conf, "meta-data/instance-id")
    elapsed = time.monotonic() - t0
    assert p.returncode == 1
    assert ("GET /latest/meta-data/instance-id failed: connection timed out, "
            "after 3 attempts") in p.stderr
    # 3 attempts of 0.3 s plus at most 0.2 + 0.4 s of backoff, with room for a slow box.
    assert elapsed < 4, elapsed


@pytest.mark.parametrize("kind,kw", [("status", {"status": 503}), ("status", {"status": 500}),
                                     ("throttle", {}), ("drop", {}), ("truncate", {})])
def test_transient_failures_are_retried(sim, run_drover, kind, kw):
    sim.fault("imds", path=INSTANCE_ID, kind=kind, count=2, **kw)
    p = metadata(run_drover, "--endpoint", sim.imds_url(), "meta-data/instance-id")
    assert p.returncode == 0, p.stderr
    assert p.stdout == sim.instance_ids[0] + "\n"
    assert len(imds_log(sim, "GET")) == 3


@pytest.mark.parametrize("kind", ["garbage", "drop", "throttle", "truncate"])
def test_token_failures_are_retried(sim, run_drover, kind):
    sim.fault("imds", path=TOKEN, kind=kind, count=1)
    p = metadata(run_drover, "--endpoint", sim.imds_url(), "meta-data/instance-id")
    assert p.returncode == 0, p.stderr
    assert p.stdout == sim.instance_ids[0] + "\n"
    assert len(imds_log(sim, "PUT", TOKEN)) == 2


def test_throttled_for_good(sim, run_drover, tmp_path):
    sim.fault("imds", path=INSTANCE_ID, kind="throttle")
    conf = write_config(tmp_path, sim.imds_url(), retries=2)
    p = metadata(run_drover, "-c", conf, "meta-data/instance-id")
    assert p.returncode == 1
    assert "failed: throttled (HTTP 429), after 3 attempts" in p.stderr
    assert len(imds_log(sim, "GET")) == 3


def test_server_errors_for_good(sim, run_drover, tmp_path):
    sim.fault("imds", path=TOKEN, kind="status", status=503)
    conf = write_config(tmp_path, sim.imds_url(), retries=1)
    p = metadata(run_drover, "-c", conf)
    assert p.returncode == 1
    assert "token request failed: server error (HTTP 503), after 2 attempts" in p.stderr


def test_proxy_environment_is_ignored(sim, run_drover):
    bogus = f"http://127.0.0.1:{closed_port()}"
    env = {k: bogus for k in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY",
                              "all_proxy", "ALL_PROXY")}
    env["no_proxy"] = env["NO_PROXY"] = ""
    p = metadata(run_drover, "--endpoint", sim.imds_url(), "meta-data/instance-id", env=env)
    assert p.returncode == 0, p.stderr
    assert p.stdout == sim.instance_ids[0] + "\n"
    # A proxy would have added X-Forwarded-For, which IMDS answers with 403.
    assert [c["status"] for c in imds_log(sim, "PUT", TOKEN)] == [200]


def test_usage_errors(run_drover):
    assert metadata(run_drover, "--repeat", "0").returncode == 2
    assert metadata(run_drover, "a", "b").returncode == 2
    p = metadata(run_drover, "--help")
    assert p.returncode == 0
    assert "Usage: drover metadata" in p.stdout


def test_without_config_file(run_drover):
    # Without -c: /etc/drover/drover.conf if it exists, else the built-in defaults; the
    # endpoint is overridden so that nothing leaves loopback.
    p = metadata(run_drover, "--endpoint", f"http://127.0.0.1:{closed_port()}")
    assert p.returncode == 1
    assert "token request failed: connection refused" in p.stderr
