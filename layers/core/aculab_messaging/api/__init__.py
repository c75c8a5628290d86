"""HTTP adapters: API Gateway events in and out, the webhook, GET /messages/{message_id}."""
