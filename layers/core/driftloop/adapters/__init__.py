"""Adapters: the only place boto3 is used. Domain logic receives plain data."""
