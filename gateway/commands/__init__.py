"""The command groups of ``ketenpoort`` that have a module of their own (``gateway/cli.py``
wires them): ``ledger ...`` (``ledger.py``) and ``messages ...`` / ``identities ...``
(``messages.py``). They sit above the packages they drive, so that the ledger and operations
packages import no settings loader or argument parser."""
