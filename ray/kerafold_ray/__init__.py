"""Drive sharded kerafold accuracy proofs on a Ray cluster (docs/RAY.md)."""

__version__ = "0.1.0"
