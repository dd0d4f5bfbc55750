"""Tell buyers and sellers what happened to their orders.

The notifications app is optional to this one: it is imported when a message is sent, and
when the module does not exist (an installation without it) nothing is sent. Any other
error is a real one and is raised. Titles and bodies are written in the recipient's
language: each ``message`` is called inside ``in_recipient_language``.

Call these after commit (``transaction.on_commit``): a rolled-back order tells nobody
anything. :func:`order_notify_many` writes all the messages of one event as one batch:
the recipients' settings in one query, the notifications and their deliveries in one
insert each. Inside :func:`order_notify_batch`, each :func:`order_notify` is kept and the
block writes them all as one batch when it ends; the payment receivers use it, so a paid
checkout tells the buyer and the seller of each of its orders in one batch.
"""

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, kw_only=True)
class OrderMessage:
    """One message to one user: ``message`` returns (title, body), called in the
    recipient's language."""

    user: Any
    kind: str
    message: Callable[[], tuple[str, str]]
    url: str = ""
    context: dict | None = None


_batch: ContextVar[list[OrderMessage] | None] = ContextVar("order_notify_batch", default=None)


@contextmanager
def order_notify_batch() -> Iterator[None]:
    """Keep the messages sent inside the block and write them as one batch when it ends.

    Put it around a call whose committed transaction notifies several users (a checkout
    paid: the buyer and the seller of each order). Those messages come from the
    transaction's on-commit callbacks, so only committed work is in the batch; if the
    call's transaction is nested in one that is still open, its callbacks run after the
    block and each message goes out on its own, as without the block. A block inside
    another one adds to the outer batch.
    """
    if _batch.get() is not None:
        yield
        return
    messages: list[OrderMessage] = []
    token = _batch.set(messages)
    try:
        yield
    finally:
        _batch.reset(token)
        if messages:
            order_notify_many(messages=messages)


def order_notify(
    *,
    user: Any,
    kind: str,
    message: Callable[[], tuple[str, str]],
    url: str = "",
    context: dict | None = None,
) -> None:
    """One message: kept for the batch inside :func:`order_notify_batch`, else written now
    (a batch of one)."""
    item = OrderMessage(user=user, kind=kind, message=message, url=url, context=context)
    batch = _batch.get()
    if batch is not None:
        batch.append(item)
        return
    order_notify_many(messages=[item])


def order_notify_many(*, messages: Sequence[OrderMessage]) -> None:
    """All the messages of one event, written together."""
    try:
        from taocun.notifications.recipients import in_recipient_language, recipients_load
        from taocun.notifications.services import NotificationDraft, notify_many
    except ImportError:
        return
    if not messages:
        return
    recipients_load(item.user for item in messages)
    drafts = []
    for item in messages:
        with in_recipient_language(item.user):
            title, body = item.message()
        drafts.append(
            NotificationDraft(
                user=item.user,
                kind=item.kind,
                title=str(title),
                body=str(body),
                url=item.url,
                context=item.context,
            )
        )
    notify_many(drafts=drafts)
