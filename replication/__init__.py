"""Operator tooling for a multi-region deployment: replication status, consistency audit,
reindex with alias swap, and failover drills.

Everything here works against a :class:`replication.targets.Target`: the same code runs
against AWS (boto3 default endpoints, the real APIs) and against the local sandbox (its
moto endpoint, embedded index directories and emulated Route 53 admin routes). The CLI
glue is :mod:`replication.cli`; the modules are plain functions that return reports.
"""
