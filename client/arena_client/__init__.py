"""The Arena modeler's client.

Import the module you need (``arena_client.sealing``, ``.cid``, ``.receipts``, ``.merkle``,
``.validation``): the server imports the crypto modules too, and keeping this package's
``__init__`` empty of imports spares it pandas when it only needs to open an envelope.
"""

__version__ = "0.1.0"
