"""Fridge Monitor: proves that medicines in clinic fridges were stored properly."""

__version__ = "0.1.0"
