"""Importing files from stand-alone data loggers into a fridge's record (:mod:`.importing`)."""
