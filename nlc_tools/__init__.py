"""Deploy-time tools: the `nlc-api` command, the local stack, provisioning
and the CloudFormation template. Never shipped in the Lambda package
(Chalice deploys app.py and chalicelib/ only)."""
