#!/usr/bin/python3
"""A stand-in for systemd's D-Bus API, just enough for check_systemd_unit.

Usage: fake_systemd.py BUS-ADDRESS UNITS.json

Owns org.freedesktop.systemd1 on the given (private) bus and answers LoadUnit,
GetUnit, ListUnits, ListUnitsFiltered and Properties.Get/GetAll for the units in
UNITS.json, which is re-read on every call so a test can change a unit between runs:
  {"units": {"nginx.service": {"LoadState": "loaded", "ActiveState": "active",
             "SubState": "running", "NRestarts": 0}},
   "no_list_units_filtered": false}
Prints READY on stdout once the name is owned.
"""
import json
import sys

import dbus
import dbus.service
from dbus.mainloop.glib import DBusGMainLoop
from gi.repository import GLib

MANAGER = "org.freedesktop.systemd1.Manager"
UNIT = "org.freedesktop.systemd1.Unit"
SERVICE = "org.freedesktop.systemd1.Service"
UNIT_PREFIX = "/org/freedesktop/systemd1/unit"


def escape(name):
    """systemd's bus_label_escape: every byte but [A-Za-z0-9] becomes _xx."""
    return "".join(c if c.isascii() and c.isalnum() else "_%02x" % ord(c) for c in name)


class Error(dbus.DBusException):
    def __init__(self, name, msg):
        super().__init__(msg, name=name)


class Systemd(dbus.service.Object):
    def __init__(self, conn, units_file):
        super().__init__(conn, "/org/freedesktop/systemd1")
        self.units_file = units_file

    def config(self):
        with open(self.units_file) as f:
            return json.load(f)

    def unit(self, name):
        u = {"LoadState": "not-found", "ActiveState": "inactive", "SubState": "dead"}
        u.update(self.config()["units"].get(name, {}))
        return u

    @dbus.service.method(MANAGER, in_signature="s", out_signature="o")
    def LoadUnit(self, name):
        return dbus.ObjectPath(f"{UNIT_PREFIX}/{escape(name)}")

    @dbus.service.method(MANAGER, in_signature="s", out_signature="o")
    def GetUnit(self, name):
        if name not in self.config()["units"]:
            raise Error("org.freedesktop.systemd1.NoSuchUnit", f"Unit {name} not loaded.")
        return self.LoadUnit(name)

    def rows(self, states):
        out = []
        for name in self.config()["units"]:
            u = self.unit(name)
            if states and not {u["LoadState"], u["ActiveState"], u["SubState"]} & set(states):
                continue
            out.append((name, u.get("Description", name), u["LoadState"], u["ActiveState"],
                        u["SubState"], "", dbus.ObjectPath(f"{UNIT_PREFIX}/{escape(name)}"),
                        dbus.UInt32(0), "", dbus.ObjectPath("/")))
        return dbus.Array(out, signature="(ssssssouso)")

    @dbus.service.method(MANAGER, in_signature="", out_signature="a(ssssssouso)")
    def ListUnits(self):
        return self.rows([])

    @dbus.service.method(MANAGER, in_signature="as", out_signature="a(ssssssouso)")
    def ListUnitsFiltered(self, states):
        if self.config().get("no_list_units_filtered"):
            raise Error("org.freedesktop.DBus.Error.UnknownMethod", "Unknown method")
        return self.rows(list(states))


class Units(dbus.service.FallbackObject):
    """Every unit object, as a fallback object under UNIT_PREFIX."""

    def __init__(self, conn, systemd):
        super().__init__(conn, UNIT_PREFIX)
        self.systemd = systemd

    def props(self, rel):
        label = rel.lstrip("/")
        for name in self.systemd.config()["units"]:
            if escape(name) == label:
                u = self.systemd.unit(name)
                break
        else:
            u = {"LoadState": "not-found", "ActiveState": "inactive", "SubState": "dead"}
        unit = {k: dbus.String(u[k]) for k in ("LoadState", "ActiveState", "SubState")}
        service = {}
        if "NRestarts" in u:
            service["NRestarts"] = dbus.UInt32(u["NRestarts"])
        return {UNIT: unit, SERVICE: service}

    @dbus.service.method(dbus.PROPERTIES_IFACE, in_signature="ss", out_signature="v",
                         rel_path_keyword="rel")
    def Get(self, iface, prop, rel):
        p = self.props(rel).get(iface, {})
        if prop not in p:
            raise Error("org.freedesktop.DBus.Error.UnknownProperty", f"Unknown property {prop}")
        return p[prop]

    @dbus.service.method(dbus.PROPERTIES_IFACE, in_signature="s", out_signature="a{sv}",
                         rel_path_keyword="rel")
    def GetAll(self, iface, rel):
        return dbus.Dictionary(self.props(rel).get(iface, {}), signature="sv")


def main():
    address, units_file = sys.argv[1], sys.argv[2]
    DBusGMainLoop(set_as_default=True)
    conn = dbus.bus.BusConnection(address)
    systemd = Systemd(conn, units_file)
    Units(conn, systemd)
    name = dbus.service.BusName("org.freedesktop.systemd1", conn)  # released when collected
    print("READY", flush=True)
    GLib.MainLoop().run()
    del name


if __name__ == "__main__":
    main()
