"""The sample messages ``ketenpoort demo`` sends, in the order of ``demo.toml`` (shipped as
package data, so the demo runs from an installed package as well as from a checkout)."""

from pathlib import Path

EXAMPLES = Path(__file__).resolve().parent
