"""AWS adapters of the ports (EventBridge, Scheduler, Secrets Manager, SQS); DynamoDB and S3 are dal/."""
