"""The reviews' entries in the site navigation: the seller's review desk for sellers and
the moderation queue for the people who moderate (program staff, county officers). A
buyer reaches the lines to review from their orders and from the link on each order."""

from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from taocun.accounts.models import Role
from taocun.reviews.access import moderation_prefixes


def reviews_role_nav(user) -> list[tuple]:
    items = [(_("To review"), reverse("reviews:mine"), "reviews:mine")]
    if Role.SELLER in user.roles:
        items.append((_("Reviews of my shop"), reverse("reviews:desk"), "reviews:desk"))
    if moderation_prefixes(user) != []:
        items.append((_("Moderation"), reverse("reviews:moderation"), "reviews:moderation"))
    return items
