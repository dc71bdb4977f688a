"""The shared core: product model, conversions, the one index schema, the engine port."""
