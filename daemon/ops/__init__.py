"""What operators and supervisors see: /metrics, /healthz, the status page, sd_notify,
log setup and which rule-engine build runs."""
