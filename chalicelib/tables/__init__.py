"""One module per DynamoDB table: every key string, expression and item
encoding of that table lives in its module, and nowhere else."""
