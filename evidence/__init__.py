"""Evidence system for regional-integration smart-city rankings."""

__version__ = "0.1.0"
