"""The one error family of taocun.

Services raise these; each interface translates them in exactly one place:
HTTP pages and HTMX partials in :mod:`taocun.core.middleware`, the REST API in
:mod:`taocun.api`, the CLI in :mod:`taocun.core.commands`.
"""

from dataclasses import dataclass

from django.utils.translation import gettext as _
from django.utils.translation import ngettext


class ApplicationError(Exception):
    """A failure the user can understand and act on.

    ``code`` is stable and machine-readable (API clients switch on it); ``message`` is for
    people and already translated; ``field`` and ``location`` say where the problem is.
    """

    code = "error"
    http_status = 400

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        field: str | None = None,
        location: str | None = None,
        extra: dict | None = None,
    ) -> None:
        super().__init__(message)
        self.message = str(message)
        if code is not None:
            self.code = code
        self.field = field
        self.location = location
        self.extra = extra or {}

    def as_dict(self) -> dict:
        payload = {"code": self.code, "message": self.message}
        if self.field:
            payload["field"] = self.field
        if self.location:
            payload["location"] = self.location
        payload.update(self.extra)
        return payload

    def __str__(self) -> str:
        where = ", ".join(part for part in (self.location, self.field) if part)
        return f"{where}: {self.message}" if where else self.message


class ValidationError(ApplicationError):
    code = "invalid"
    http_status = 400


class NotFound(ApplicationError):
    code = "not_found"
    http_status = 404


class PermissionDenied(ApplicationError):
    code = "forbidden"
    http_status = 403


class NotAuthenticated(ApplicationError):
    code = "not_authenticated"
    http_status = 401


class Conflict(ApplicationError):
    code = "conflict"
    http_status = 409


class Throttled(ApplicationError):
    code = "throttled"
    http_status = 429


@dataclass(frozen=True)
class RowError:
    """One bad row of an imported file: where it is and what is wrong with it."""

    line: int
    field: str
    reason: str
    value: str = ""

    def __str__(self) -> str:
        values = {"line": self.line, "field": self.field, "reason": self.reason}
        if self.value:
            return _("line %(line)d, field %(field)s: %(reason)s (got %(value)s)") % {
                **values,
                "value": repr(self.value),
            }
        return _("line %(line)d, field %(field)s: %(reason)s") % values


class ImportRejected(ApplicationError):
    """A file had bad rows; nothing from it was written."""

    code = "import_rejected"
    http_status = 400

    def __init__(self, path: str, errors: list[RowError], *, truncated: bool = False) -> None:
        self.path = path
        self.errors = list(errors)
        self.truncated = truncated
        count = len(self.errors)
        if truncated:
            message = ngettext(
                "%(path)s: %(count)d bad row (stopped at the error limit); nothing was imported",
                "%(path)s: %(count)d bad rows (stopped at the error limit); nothing was imported",
                count,
            )
        else:
            message = ngettext(
                "%(path)s: %(count)d bad row; nothing was imported",
                "%(path)s: %(count)d bad rows; nothing was imported",
                count,
            )
        super().__init__(
            message % {"path": path, "count": count},
            location=path,
            extra={"errors": [e.__dict__ for e in self.errors]},
        )

    def __str__(self) -> str:
        return "\n".join([self.message, *(f"{self.path}: {e}" for e in self.errors)])
