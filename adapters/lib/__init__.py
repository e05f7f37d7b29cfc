"""Libraries of the formats adapters share: SOAP 1.1 envelopes (``soap.py``), StUF 0301
(``stuf/``), iStandaarden-style messages and their codec (``istandaard/``), reference numbers
(``refs.py``) and our XSDs as checks (``schema.py``). Pure formats, no calls: a library imports
no adapter and nothing of ``adapters.shared``; adapters import libraries."""
