"""Durable outbox and service-desk adapters."""
