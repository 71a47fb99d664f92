"""A subscribe-only MQTT 5 client on asyncio.Protocol (see README: why not a library)."""
