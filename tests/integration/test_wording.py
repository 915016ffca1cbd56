"""What drover's log says when things go wrong, read by a person: each message names
the cause in a sentence (issue 17's list), checked against a real run on tests/sim.
"""
import re
import subprocess

from test_daemon import replaced_once

TARGET = "/latest/meta-data/autoscaling/target-lifecycle-state"
IDENTITY = "/latest/dynamic/instance-identity/document"


def test_stop_names_the_signal(daemon):
    d = daemon
    d.start(checks=[d.flag_check("web")], metrics={"enabled": False})
    d.wait_ready()
    assert d.stop() == 0
    assert "stopping on SIGTERM" in d.log(), d.log()
    assert "stopping on Terminated" not in d.log()


def test_invalid_identity_document_is_not_unreachable(daemon):
    d = daemon
    d.sim.fault("imds", path=IDENTITY, kind="garbage")
    d.start(checks=[d.flag_check("web")])
    d.wait_ready()
    d.wait_for(lambda: "identity document is invalid" in d.log(), 10, "the invalid document")
    log = d.log()
    assert "IMDS unreachable" not in log, log
    assert "(: " not in log, log
    st = d.status()
    assert st["instance"]["error"].startswith("the identity document is invalid"), st["instance"]
    head = subprocess.run([d.bin, "status"], capture_output=True, text=True,
                          env=d.env()).stdout.splitlines()[0]
    assert "identity document is invalid" in head, head
    assert "unreachable" not in head and st["instance"]["imds"] == "invalid-document", head
    assert any("IMDS identity document invalid" in x for x in d.notify.seen("STATUS="))
    d.sim.clear_faults()
    d.wait_for(lambda: d.status()["instance"]["known"], 40, "the document, once readable")


def test_unexpected_imds_status_is_named(daemon):
    d = daemon
    d.sim.fault("imds", path=TARGET, kind="status", status=400)
    d.start(checks=[d.flag_check("web")])
    d.wait_ready()
    d.wait_for(lambda: "IMDS target lifecycle state:" in d.log(), 15, "the notice error")
    line = next(x for x in d.log().splitlines() if "IMDS target lifecycle state:" in x)
    assert "Protocol error" not in line, line
    assert re.search(r"unexpected HTTP 400 to the GET /latest/meta-data/autoscaling/"
                     r"target-lifecycle-state; keeping the last answer", line), line


def test_replacement_confirmed_said_once(daemon):
    d = daemon
    d.start(checks=[d.flag_check("web")])
    d.wait_ready()
    d.set_failing("web")
    replaced_once(d)
    d.wait_for(lambda: "replacement confirmed: " in d.log(), 15, "the confirmation")
    line = next(x for x in d.log().splitlines() if "replacement confirmed: " in x)
    assert "took the replacement request" not in d.log()
    assert line.count("replacement") == 1, line


def test_remediation_without_a_bus(daemon):
    d = daemon
    bus, d.systemd.address = d.systemd.address, f"unix:path={d.dir}/no-bus-here"
    try:
        d.start(checks=[d.restart_unit_check("web", unit="nginx.service", attempts=1)])
    finally:
        d.systemd.address = bus
    d.wait_ready()
    d.set_failing("web")
    d.wait_for(lambda: "remediation of web:" in d.log(), 15, "the remediation attempt")
    line = next(x for x in d.log().splitlines() if "remediation of web:" in x)
    assert "could not start" not in line, line
    assert ("could not ask systemd to restart nginx.service: the system D-Bus is not "
            "reachable (") in line, line
