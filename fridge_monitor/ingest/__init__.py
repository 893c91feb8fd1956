"""The ingest role: the MQTT subscriber, the writer process it feeds, and the batch inserts.

No reading is lost: a message is acknowledged to the broker only after the
writer has committed what it carried (see ``subscriber`` and ``writer``).
"""
