"""The endpoint table, which lives in the core (:mod:`yzt.endpoints`); this name re-exports it."""

from yzt.endpoints import Endpoint, business, by_name, endpoints, find, openapi_document

__all__ = ["Endpoint", "business", "by_name", "endpoints", "find", "openapi_document"]
