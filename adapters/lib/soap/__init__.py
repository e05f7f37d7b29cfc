"""SOAP 1.1: wrapping and reading envelopes (``envelope.py``), calling a SOAP service with the
counterparts' retry policy (``call.py``)."""
