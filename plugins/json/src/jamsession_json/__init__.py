"""The JSON serializer for jamsession, its default: compact UTF-8, JSON types only."""

from jamsession_json._encoder import JsonEncoder

__all__ = ["JsonEncoder"]
