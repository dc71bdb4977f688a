"""Code that runs in AWS for the CDK app itself (custom resource handlers), not the product."""
