"""The stacks, with stable names from ``DeploymentConfig.stack_name`` (see README "Deploy")."""
