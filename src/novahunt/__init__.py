"""novahunt: collect and verify B2B contact emails as durable background jobs."""

__version__ = "0.1.0"
