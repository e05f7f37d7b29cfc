"""Libraries the adapters share: SOAP 1.1 (``soap/``), StUF 0301 (``stuf/``), iStandaarden-style
messages (``istandaard/``), reference numbers and our XSDs as checks. A library imports no
adapter; adapters import libraries."""
