"""Telemetry API ingestion: subscription, listener and the translation of platform events to OTLP.

See docs/telemetry.md. Submodules are imported on demand (the extension's start-up stays cheap).
"""
