"""StUF 0301: stuurgegevens, foutberichten and bevestigingen (``messages.py``), the ISD-keten
foutcodes and what they mean (``faults.py``)."""
