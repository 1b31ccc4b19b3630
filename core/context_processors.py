from django.urls import NoReverseMatch, reverse
from django.utils.functional import SimpleLazyObject

from core.permissions import permissions_of

# The portal's navigation, in the order a governance process runs. Areas whose pages are not
# built yet are shown disabled, so users can see where the portal is going.
NAVIGATION = [
    ("Home", "home", "home.view"),
    ("Inventory", "registry:system_list", "system.view"),
    ("Validations", "audits:validation_list", "validation.view"),
    ("Reviews", "audits:review_list", "review.perform"),
    ("Classification", "governance:classification_list", "classification.view"),
    ("Obligations", "governance:obligation_board", "obligation.view"),
    ("Risk register", "governance:risk_list", "risk.view"),
    ("Audit trail", "audits:event_list", "audit.view"),
    ("Users", "user_list", "users.manage"),
    ("Organisation settings", "organisation_settings", "org.manage"),
]


def navigation(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"nav_items": []}
    granted = permissions_of(user)
    items = []
    for label, url_name, permission in NAVIGATION:
        if permission not in granted:
            continue
        try:
            url = reverse(url_name)
        except NoReverseMatch:
            url = None
        items.append(
            {
                "label": label,
                "url": url,
                "active": bool(url) and (request.path == url if url == "/" else request.path.startswith(url)),
            }
        )
    return {"nav_items": items, "user_permissions": granted}


def notifications(request):
    """`unread_notifications` for the bell: counted lazily (pages that do not show the bell, and
    anonymous visitors, cost no query) and at most once per request however often it is used."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or user.organisation_id is None:
        return {"unread_notifications": 0}

    def count() -> int:
        if not hasattr(request, "_unread_notifications"):
            from core.selectors import unread_count

            request._unread_notifications = unread_count(user=user)
        return request._unread_notifications

    return {"unread_notifications": SimpleLazyObject(count)}
