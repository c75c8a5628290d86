"""Domain logic as plain functions: the webhook (ingest), send and reconcile
paths, sharing one state machine (tracking)."""
