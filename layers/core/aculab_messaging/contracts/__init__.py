"""What crosses our boundaries: the SQS send/cancel contract and Aculab's
notifications (JSON Schemas and their validator), and the events we publish."""
