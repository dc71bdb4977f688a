"""One construct per concern; the stacks in :mod:`infra.stacks` put them together."""
