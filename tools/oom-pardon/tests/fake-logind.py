#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
#
# fake-logind.py: the few methods and signals of systemd-logind's D-Bus API
# that xss-lock uses, for the locker matrix (lockers.sh) in a guest that
# runs no systemd. On the system bus that lockers.sh starts:
#
#   Manager.GetSessionByPID(u) -> o   always session "c1"
#   Manager.Inhibit(ssss) -> h        a "delay" lock: the write end of a
#                                     pipe; its release (every copy closed)
#                                     is logged as "released"
#   signal Manager.PrepareForSleep(b) sent on SIGUSR1 (true), as logind
#                                     does before a suspend
#   signal Session.Lock()             sent on SIGUSR2 (loginctl lock-session)
#   Session.SetIdleHint(b), Session.SetLockedHint(b): logged
#
# Usage: fake-logind.py LOGFILE   (prints "ready" to LOGFILE once on the bus)
import os
import signal
import sys
import time

import dbus
import dbus.service
from dbus.mainloop.glib import DBusGMainLoop
from gi.repository import GLib

LOG = open(sys.argv[1], "a", buffering=1)


def log(*what):
    LOG.write("%.3f %s\n" % (time.monotonic(), " ".join(str(w) for w in what)))


class Session(dbus.service.Object):
    IFACE = "org.freedesktop.login1.Session"

    @dbus.service.method(IFACE, in_signature="b", out_signature="")
    def SetIdleHint(self, idle):
        log("SetIdleHint", bool(idle))

    @dbus.service.method(IFACE, in_signature="b", out_signature="")
    def SetLockedHint(self, locked):
        log("SetLockedHint", bool(locked))

    @dbus.service.signal(IFACE, signature="")
    def Lock(self):
        log("signal Lock")


class Manager(dbus.service.Object):
    IFACE = "org.freedesktop.login1.Manager"

    @dbus.service.method(IFACE, in_signature="u", out_signature="o")
    def GetSessionByPID(self, pid):
        log("GetSessionByPID", int(pid))
        return dbus.ObjectPath("/org/freedesktop/login1/session/c1")

    @dbus.service.method(IFACE, in_signature="s", out_signature="o")
    def GetSession(self, sid):
        return dbus.ObjectPath("/org/freedesktop/login1/session/c1")

    @dbus.service.method(IFACE, in_signature="ssss", out_signature="h",
                         sender_keyword="sender")
    def Inhibit(self, what, who, why, mode, sender=None):
        r, w = os.pipe()
        log("Inhibit", what, who, mode, "from", sender, "read end", r)

        def released(fd, cond):
            log("released", who, "inhibitor of", sender)
            os.close(fd)
            return False
        GLib.io_add_watch(r, GLib.PRIORITY_DEFAULT, GLib.IO_HUP | GLib.IO_ERR, released)
        fd = dbus.types.UnixFd(w)
        os.close(w)
        return fd

    @dbus.service.signal(IFACE, signature="b")
    def PrepareForSleep(self, active):
        log("signal PrepareForSleep", bool(active))


DBusGMainLoop(set_as_default=True)
bus = dbus.SystemBus()
name = dbus.service.BusName("org.freedesktop.login1", bus)
manager = Manager(bus, "/org/freedesktop/login1")
session = Session(bus, "/org/freedesktop/login1/session/c1")
GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, signal.SIGUSR1,
                     lambda: manager.PrepareForSleep(True) or True)
GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, signal.SIGUSR2,
                     lambda: session.Lock() or True)
GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, signal.SIGTERM,
                     lambda: loop.quit() or False)
log("ready")
loop = GLib.MainLoop()
loop.run()
