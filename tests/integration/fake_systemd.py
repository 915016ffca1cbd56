#!/usr/bin/python3
"""A stand-in for systemd's manager on a private D-Bus bus, for drover's tests.

It owns org.freedesktop.systemd1 and implements what drover calls: Subscribe,
RestartUnit and StartUnit. Each job finishes after --job-delay seconds with the result
set for its unit (default "done"), announced with JobRemoved as systemd does. Every
method call is appended as one JSON line to --log, so tests can assert the exact calls.

Tests set results while it runs with the extra method
  org.drover.Test.SetResult(unit, result)
on the same object.
"""
import argparse
import json
import sys

import dbus
import dbus.service
from dbus.mainloop.glib import DBusGMainLoop
from gi.repository import GLib

MANAGER = "org.freedesktop.systemd1.Manager"


class Manager(dbus.service.Object):
    def __init__(self, bus, log_path, job_delay):
        super().__init__(bus, "/org/freedesktop/systemd1")
        self.log_path = log_path
        self.job_delay = job_delay
        self.results = {}
        self.next_job = 1

    def record(self, method, *args):
        with open(self.log_path, "a") as f:
            f.write(json.dumps({"method": method, "args": [str(a) for a in args]}) + "\n")

    def queue_job(self, unit):
        job_id = self.next_job
        self.next_job += 1
        path = f"/org/freedesktop/systemd1/job/{job_id}"
        result = self.results.get(unit, "done")

        def finish():
            self.JobRemoved(dbus.UInt32(job_id), dbus.ObjectPath(path), unit, result)
            return False

        GLib.timeout_add(int(self.job_delay * 1000), finish)
        return dbus.ObjectPath(path)

    @dbus.service.method(MANAGER, in_signature="", out_signature="")
    def Subscribe(self):
        self.record("Subscribe")

    @dbus.service.method(MANAGER, in_signature="ss", out_signature="o")
    def RestartUnit(self, name, mode):
        self.record("RestartUnit", name, mode)
        return self.queue_job(str(name))

    @dbus.service.method(MANAGER, in_signature="ss", out_signature="o")
    def StartUnit(self, name, mode):
        self.record("StartUnit", name, mode)
        return self.queue_job(str(name))

    @dbus.service.signal(MANAGER, signature="uoss")
    def JobRemoved(self, job_id, path, unit, result):
        pass

    @dbus.service.method("org.drover.Test", in_signature="ss", out_signature="")
    def SetResult(self, unit, result):
        self.results[str(unit)] = str(result)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--address", required=True, help="the private bus to serve on")
    ap.add_argument("--log", required=True)
    ap.add_argument("--ready-file", required=True)
    ap.add_argument("--job-delay", type=float, default=0.2)
    args = ap.parse_args()

    DBusGMainLoop(set_as_default=True)
    bus = dbus.bus.BusConnection(args.address)
    name = dbus.service.BusName("org.freedesktop.systemd1", bus)
    manager = Manager(bus, args.log, args.job_delay)
    with open(args.ready_file, "w") as f:
        f.write("ready\n")
    loop = GLib.MainLoop()
    GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, 15, loop.quit)
    loop.run()
    del name, manager
    return 0


if __name__ == "__main__":
    sys.exit(main())
