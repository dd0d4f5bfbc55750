"""Translate :class:`ApplicationError` into an HTML page or an HTMX message, in one place."""

from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string

from taocun.core.errors import ApplicationError


class ApplicationErrorMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not isinstance(exception, ApplicationError):
            return None
        if request.path.startswith("/api/"):
            return None  # the API translates its own errors (taocun.api)
        if request.headers.get("HX-Request") == "true":
            body = render_to_string("core/message.html", {"error": exception}, request=request)
            response = HttpResponse(body, status=exception.http_status)
            response["HX-Retarget"] = "#messages"
            response["HX-Reswap"] = "innerHTML"
            return response
        body = render_to_string("core/error.html", {"error": exception}, request=request)
        return HttpResponse(body, status=exception.http_status)
