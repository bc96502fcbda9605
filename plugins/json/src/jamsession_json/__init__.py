"""The JSON serializer for jamsession, its default: compact UTF-8, JSON types only."""

# The core imports this package's encoder to use it as its default serializer,
# so the core is initialised first whichever of the two is imported first.
import jamsession  # noqa: F401 - see above
from jamsession_json._encoder import JsonEncoder

__all__ = ["JsonEncoder"]
