"""The local two-region sandbox: AWS emulated on one machine, with no AWS account.

One *supervisor* process (:mod:`sandbox.supervisor`) hosts one moto server on
127.0.0.1 holding every region, creates the resources the CDK app declares from the
same :class:`catalog.config.DeploymentConfig`, and runs what moto does not emulate:

* :mod:`sandbox.global_tables` - DynamoDB global table replication;
* :mod:`sandbox.s3_replication` - S3 cross-region replication of ``products/``;
* :mod:`sandbox.route53` - Route 53 health checks and the failover/latency answer;
* :mod:`sandbox.router` - the "global" port that sends each request to the answered region.

One child process per region (:mod:`sandbox.region`) has that region's environment and
runs the Lambda event source mappings (:mod:`sandbox.lambda_runtime`) into the real
indexer handler, and an HTTP server (:mod:`sandbox.apigw`) that turns each request into
an API Gateway REST proxy event for the real search handler. Handlers are configured
only by environment variables, so one process per region keeps the regions apart.

Nothing here is imported by Lambda code.
"""
