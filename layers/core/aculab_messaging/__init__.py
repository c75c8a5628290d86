"""The domain core shared by the webhook, send and reconcile functions."""
