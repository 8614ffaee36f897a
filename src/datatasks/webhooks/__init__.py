"""Webhooks: telling a job's `callback_url` that the job ended, signed, retried, SSRF-safe."""
