"""driftloop: the domain core shared by every Lambda function (shipped as the core layer)."""

__version__ = "0.1.0"
