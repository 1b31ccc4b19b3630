from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpResponseServerError, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template import loader
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from core import context, health
from core import home as home_queues
from core.choices import Role
from core.errors import ValidationFailed
from core.forms import ApiTokenForm, OrganisationSettingsForm, UserActiveForm, UserCreateForm, UserRoleForm
from core.models import ApiToken, User
from core.notifications import (
    is_local_path,
    notification_mark_read,
    notification_preferences,
    notification_preferences_set,
)
from core.permissions import get_for_user, require_permission
from core.selectors import home_stats, login_previous, notification_list, user_list
from core.services import (
    api_token_create,
    api_token_revoke,
    invite_link,
    organisation_four_eyes_set,
    user_change_role,
    user_create,
    user_password_reset_link,
    user_set_active,
)
from core.views_errors import attempt_on_form, attempt_with_message


def server_error(request, template_name: str = "500.html"):
    """handler500: the 500 page with the request id to quote (Django's own renders it with no
    context at all, so the id was empty). Rendered without context processors or the user: they
    may need the database that just failed."""
    request_id = getattr(request, "request_id", "") or context.current().request_id
    return HttpResponseServerError(loader.get_template(template_name).render({"request_id": request_id}))


@login_required
def home(request):
    if request.user.organisation_id is None:
        return render(request, "core/home_staff.html")
    context = {
        "queues": home_queues.collect_queues(user=request.user),
        "stats": home_stats(user=request.user),
        "role": request.user.role,
        "previous_login": login_previous(session=request.session),
    }
    return render(request, "core/home.html", context)


@require_GET
def password_forgotten(request):
    """The portal sends no reset e-mail: the page says who can help (the organisation's admin, who
    can give a link to set a new password from the user's page)."""
    return render(request, "registration/password_forgotten.html")


@login_required
@require_http_methods(["GET", "POST"])
def user_list_view(request):
    require_permission(request, "users.manage")
    form = UserCreateForm(request.POST or None)
    status = 400 if request.method == "POST" else 200  # the form shown again after a POST is a refusal
    if request.method == "POST" and form.is_valid():
        attempt = attempt_on_form(
            form, lambda: user_create(actor=request.user, organisation=request.user.organisation, **form.cleaned_data)
        )
        if attempt.ok:
            user = attempt.value
            messages.success(
                request, f"{user.username} was created and invited. Invitation link (also emailed): {invite_link(user)}"
            )
            return redirect("user_detail", pk=user.pk)
        status = attempt.status
    users = user_list(viewer=request.user, search=request.GET.get("q", ""), role=request.GET.get("role", ""))
    page = Paginator(users, 25).get_page(request.GET.get("page"))
    return render(
        request,
        "core/user_list.html",
        {
            "page": page,
            "form": form,
            "roles": Role.choices,
            "q": request.GET.get("q", ""),
            "role_filter": request.GET.get("role", ""),
        },
        status=status,
    )


@login_required
@require_http_methods(["GET", "POST"])
def user_detail_view(request, pk: int):
    require_permission(request, "users.manage")
    member = get_for_user(User.objects.all(), request.user, "users.manage", pk=pk)
    role_form = UserRoleForm(initial={"role": member.role})
    if request.method == "POST":
        # Each action redirects back; a refusal is a message there (core.views_errors), a refused
        # permission the 403 page.
        action = request.POST.get("action")
        if action == "role":
            role_form = UserRoleForm(request.POST)
            if role_form.is_valid():
                attempt_with_message(
                    request,
                    lambda: user_change_role(actor=request.user, user=member, **role_form.cleaned_data),
                    "Role updated.",
                )
                return redirect("user_detail", pk=pk)
        elif action in ("activate", "deactivate"):
            form = UserActiveForm(request.POST)
            form.is_valid()
            attempt_with_message(
                request,
                lambda: user_set_active(
                    actor=request.user,
                    user=member,
                    active=action == "activate",
                    reason=form.cleaned_data.get("reason", ""),
                ),
                "Account updated.",
            )
            return redirect("user_detail", pk=pk)
        elif action == "invite":
            messages.info(request, f"New invitation link: {invite_link(member)}")
            return redirect("user_detail", pk=pk)
        elif action == "password_reset":
            attempt = attempt_with_message(request, lambda: user_password_reset_link(actor=request.user, user=member))
            if attempt.ok:
                messages.info(
                    request,
                    f"Give {member.username} this link to set a new password (it works once): {attempt.value}",
                )
            return redirect("user_detail", pk=pk)
    return render(
        request,
        "core/user_detail.html",
        {"member": member, "role_form": role_form, "trail_object_type": "core.user", "trail_object_id": member.pk},
    )


@login_required
@require_http_methods(["GET", "POST"])
def organisation_settings_view(request):
    """The organisation admin's settings for their own organisation: four-eyes on high-risk
    classifications (changed through its service, so the change is in the audit trail)."""
    require_permission(request, "org.manage")
    organisation = request.user.organisation
    current = "on" if organisation.four_eyes_high_risk else "off"
    # Bound on every POST, even an empty one: a POST that says nothing is a 400, not the page again.
    data = request.POST if request.method == "POST" else None
    form = OrganisationSettingsForm(data, initial={"four_eyes_high_risk": current})
    status = 400 if request.method == "POST" else 200  # the form shown again after a POST is a refusal
    if request.method == "POST" and form.is_valid():
        enabled = form.cleaned_data["four_eyes_high_risk"]
        attempt = attempt_on_form(
            form,
            lambda: organisation_four_eyes_set(organisation=organisation, enabled=enabled, actor=request.user),
        )
        if attempt.ok:
            messages.success(
                request,
                "Four-eyes on high-risk classifications is now " + ("on." if enabled else "off."),
            )
            return redirect("organisation_settings")
        status = attempt.status
    return render(
        request,
        "core/organisation_settings.html",
        {
            "form": form,
            "organisation": organisation,
            "trail_object_type": "core.organisation",
            "trail_object_id": organisation.pk,
        },
        status=status,
    )


@login_required
@require_http_methods(["GET", "POST"])
def token_list_view(request):
    require_permission(request, "tokens.manage")
    form = ApiTokenForm(request.POST or None)
    new_secret, status = None, 200
    if request.method == "POST":
        if request.POST.get("action") == "revoke":
            attempt = attempt_with_message(
                request,
                lambda: api_token_revoke(actor=request.user, token_key=request.POST.get("token_key", "")),
                "Token revoked.",
            )
            if attempt.ok:
                return redirect("token_list")
            status = attempt.status
        elif form.is_valid():
            attempt = attempt_with_message(
                request, lambda: api_token_create(actor=request.user, name=form.cleaned_data["name"])
            )
            if attempt.ok:
                new_secret, form = attempt.value[1], ApiTokenForm()
            status = attempt.status
    tokens = ApiToken.objects.filter(user=request.user)
    return render(
        request, "core/token_list.html", {"tokens": tokens, "form": form, "new_secret": new_secret}, status=status
    )


@require_GET
def healthz(request):
    report = health.check_all()
    status = 200 if report["ok"] else 503
    return JsonResponse(report, status=status, json_dumps_params={"indent": 2})


# --- notifications --------------------------------------------------------------------------


@login_required
@require_GET
def notification_list_view(request):
    page = Paginator(notification_list(user=request.user), 25).get_page(request.GET.get("page"))
    return render(request, "core/notification_list.html", {"page": page})


@login_required
@require_POST
def notification_open_view(request, pk: int):
    """Mark one of the user's notifications read and follow its link (only ever a path on this
    site: anything else goes to the list, so a notification cannot become an open redirect)."""
    notification = get_object_or_404(notification_list(user=request.user), pk=pk)
    notification_mark_read(user=request.user, notification_ids=[notification.pk])
    safe = is_local_path(notification.url) and url_has_allowed_host_and_scheme(
        notification.url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    )
    return redirect(notification.url if safe else "notification_list")


@login_required
@require_POST
def notification_mark_selected_read_view(request):
    """Mark the ticked notifications read (only the person's own: other ids change nothing)."""
    values = request.POST.getlist("notifications")
    try:
        ids = [int(value) for value in values]
    except ValueError:
        ids = None
    if not ids:
        message = "Tick the notifications to mark as read first." if not values else "Those are not notifications."
        page = Paginator(notification_list(user=request.user), 25).get_page(request.POST.get("page"))
        return render(
            request, "core/notification_list.html", {"page": page, "error": message, "chosen": set(values)}, status=400
        )
    changed = notification_mark_read(user=request.user, notification_ids=ids)
    messages.success(request, f"{changed} notification{'s' if changed != 1 else ''} marked as read.")
    page_number = request.POST.get("page", "")
    return redirect(reverse("notification_list") + (f"?page={page_number}" if page_number.isdigit() else ""))


@login_required
@require_http_methods(["GET", "POST"])
def notification_preferences_view(request):
    """Per kind of notification: in the portal only, or in the portal and by e-mail."""
    preferences, error, status = notification_preferences(user=request.user), "", 200
    if request.method == "POST":
        choices = {key[len("email:") :]: value for key, value in request.POST.items() if key.startswith("email:")}
        try:
            if any(value not in ("portal", "email") for value in choices.values()):
                raise ValidationFailed("Choose “In the portal only” or “In the portal and by e-mail” for each kind.")
            changed = notification_preferences_set(
                user=request.user, email_by_kind={k: v == "email" for k, v in choices.items()}
            )
        except ValidationFailed as exc:
            error, status = exc.message, 400
            for preference in preferences:  # shown as entered
                if preference["kind"] in choices:
                    preference["email"] = choices[preference["kind"]] == "email"
        else:
            messages.success(request, "Your notification choices are saved." if changed else "Nothing changed.")
            return redirect("notification_preferences")
    return render(
        request,
        "core/notification_preferences.html",
        {"preferences": preferences, "error": error, "has_email": bool(request.user.email)},
        status=status,
    )


@login_required
@require_POST
def notification_mark_all_read_view(request):
    changed = notification_mark_read(user=request.user)
    messages.success(request, f"{changed} notification{'s' if changed != 1 else ''} marked as read.")
    return redirect("notification_list")
