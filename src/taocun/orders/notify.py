"""Tell buyers and sellers what happened to their orders.

The notifications app is optional to this one: ``notify`` is imported when it is called,
and when the module does not exist (an installation without it) nothing is sent. Any other
error is a real one and is raised. Titles and bodies are written in the recipient's
language: ``message`` is called inside ``in_recipient_language`` when that exists.
"""

from collections.abc import Callable
from contextlib import nullcontext
from typing import Any


def order_notify(
    *,
    user: Any,
    kind: str,
    message: Callable[[], tuple[str, str]],
    url: str = "",
    context: dict | None = None,
) -> None:
    try:
        from taocun.notifications.services import notify
    except ImportError:
        return
    try:
        from taocun.notifications.recipients import in_recipient_language
    except ImportError:
        in_recipient_language = None
    language = in_recipient_language(user) if in_recipient_language else nullcontext()
    with language:
        title, body = message()
    notify(user=user, kind=kind, title=str(title), body=str(body), url=url, context=context)
