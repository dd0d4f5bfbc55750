"""The REST API root: /api/v1/. Routers live in each app's ``api`` module."""

from ninja import NinjaAPI

api = NinjaAPI(
    title="taocun API",
    version="1",
    description="The REST API of taocun (淘村). Errors are JSON: {code, message, field?}.",
    urls_namespace="api",
)
