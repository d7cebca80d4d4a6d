"""Integrations of phyper with other libraries, each an optional extra.

- :mod:`phyper.integrations.burr`: Apache Burr applications whose state lives in phyper's hash
  folders (``pip install 'phyper-ml[burr]'``).

Importing ``phyper`` imports none of them, nor the libraries they integrate.
"""
