"""What adapters share beyond the libraries: failure types and outbound HTTP calls with retries
(``failures.py``, ``http.py``), what a counterpart's answer means for the message it answers
(``answers.py``), and the usual parts of a standard (``base.py``, ``catalogued.py``,
``mapped.py``)."""
