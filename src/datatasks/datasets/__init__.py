"""Datasets as clients see them: list, inspect, profile, erase."""
