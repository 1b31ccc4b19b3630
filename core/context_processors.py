from django.urls import NoReverseMatch, reverse

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
        items.append({"label": label, "url": url,
                      "active": bool(url) and (request.path == url if url == "/" else request.path.startswith(url))})
    return {"nav_items": items, "user_permissions": granted}
