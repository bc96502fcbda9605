"""The CBOR serializer for jamsession: compact binary data with dates, bytes, UUIDs and decimals.

Select it with ``serializer="cbor"`` once ``jamsession-cbor`` is installed
(``pip install "jamsession[cbor]"``).
"""

from jamsession_cbor._encoder import CborEncoder

__all__ = ["CborEncoder"]
