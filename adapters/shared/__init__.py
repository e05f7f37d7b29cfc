"""What adapters share beyond the format libraries (``adapters/lib``): calling counterparts
(failure types and HTTP calls with retries: ``failures.py``, ``http.py``; a SOAP service's and a
StUF service's answer judged: ``soapcall.py``, ``stufcall.py``), what a counterpart's answer
means for the message it answers (``answers.py``), and the usual parts of a standard
(``base.py``, ``catalogued.py``, ``mapped.py``)."""
