"""Pydantic models of what crosses our boundaries: the SQS send/cancel
contract, Aculab's notifications and the events we publish."""
