"""A default MQTT client id that is the same on every start and differs per machine.

A persistent session is keyed by the client id, so it must not change between
restarts; and two gateways with the same id take each other's session over in
a loop. A constant default ("gatewatch") made the second gateway of a site do
exactly that. The default is ``gw-<host>-<6 hex of /etc/machine-id>``: the
hostname for people reading the broker's log, the machine id because cloned
SD-card images often share a hostname. At most 23 characters of [0-9A-Za-z-],
the length and alphabet every MQTT 3.1.1 broker must accept (MQTT-3.1.3-5).
"""

from __future__ import annotations

import hashlib
import re
import socket
from pathlib import Path

_MACHINE_ID_FILES = (Path("/etc/machine-id"), Path("/var/lib/dbus/machine-id"))


def default_client_id(hostname: str, machine_id: str) -> str:
    host = re.sub(r"[^0-9A-Za-z]", "", hostname.split(".", maxsplit=1)[0])[:12] or "host"
    seed = machine_id.strip() or hostname
    return f"gw-{host}-{hashlib.sha256(seed.encode()).hexdigest()[:6]}"


def machine_client_id() -> str:
    """``default_client_id`` of this machine."""
    machine_id = ""
    for path in _MACHINE_ID_FILES:
        try:
            machine_id = path.read_text(encoding="ascii").strip()
        except (OSError, UnicodeDecodeError):
            continue
        if machine_id:
            break
    return default_client_id(socket.gethostname(), machine_id)
