"""The MQTT client's errors: one home, so codec and properties share them."""

from __future__ import annotations


class MalformedPacketError(Exception):
    """The byte stream is not valid MQTT; the connection must be dropped."""


class MqttError(Exception):
    """The broker refused us or the connection broke; the client will retry."""


class SessionTakenOverError(MqttError):
    """DISCONNECT 0x8E: another client connected with our client id."""


class UnsupportedProtocolError(MqttError):
    """The broker does not speak the protocol version we asked for."""
