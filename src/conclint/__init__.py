"""conclint: find and fix Python concurrency pitfalls."""

__version__ = "0.1.0"
