"""The webhook's adapter: HTTP in and out, who may call, and the one map from
domain errors to HTTP answers. The domain (``logic/ingest.py``) sees only an
authenticated, parsed ``Notification``."""
