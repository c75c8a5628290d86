"""The local stack: template translation and provisioning on moto server,
API Gateway v2 events from real HTTP, an SQS poller, a timer and an event tail."""
