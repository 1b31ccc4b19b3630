"""Writes for organisations, users and API tokens. Each one records an audit event in the same
transaction."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.contrib.auth.tokens import default_token_generator
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from core.choices import Role
from core.errors import Conflict, NotAllowed, ValidationFailed
from core.models import ApiToken, Organisation, User
from core.permissions import has_permission
from core.trail import audit_record


def _user_summary(user: User) -> dict:
    return {
        "username": user.username,
        "email": user.email,
        "role": user.role,
        "is_active": user.is_active,
        "name": user.get_full_name(),
    }


def organisation_create(*, name: str, slug: str, actor: User | None = None) -> Organisation:
    with transaction.atomic():
        if Organisation.objects.filter(slug=slug).exists():
            raise Conflict(f"An organisation with the slug {slug!r} already exists.", code="duplicate")
        organisation = Organisation.objects.create(name=name, slug=slug)
        audit_record(verb="organisation.created", target=organisation, actor=actor, after={"name": name, "slug": slug})
    return organisation


def organisation_four_eyes_set(*, organisation: Organisation, enabled: bool, actor: User | None) -> Organisation:
    """Switch the four-eyes rule for high-risk classifications on or off: the organisation's own
    admin (`org.manage`, on the portal's organisation settings page) or portal staff in the Django
    admin (`actor` a staff user, or None for a system change)."""
    if actor is not None and not actor.is_staff:
        if not has_permission(actor, "org.manage"):
            raise NotAllowed("Only an organisation admin can change the four-eyes setting.")
        if actor.organisation_id != organisation.pk:
            raise NotAllowed("Only an organisation admin of this organisation can change its four-eyes setting.")
    with transaction.atomic():
        # Locked so that two saves at once record their before/after in order.
        organisation = Organisation.objects.select_for_update().get(pk=organisation.pk)
        before = organisation.four_eyes_high_risk
        if before == enabled:
            return organisation
        organisation.four_eyes_high_risk = enabled
        organisation.save(update_fields=["four_eyes_high_risk"])
        audit_record(
            verb="organisation.settings_changed",
            target=organisation,
            actor=actor,
            before={"four_eyes_high_risk": before},
            after={"four_eyes_high_risk": enabled},
        )
    return organisation


def _require_admin_of(actor: User, organisation: Organisation) -> None:
    if not has_permission(actor, "users.manage") or actor.organisation_id != organisation.pk:
        raise NotAllowed("Only an organisation admin of this organisation can manage its users.")


def invite_link(user: User) -> str:
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    token = default_token_generator.make_token(user)
    return settings.PORTAL_BASE_URL.rstrip("/") + reverse("password_reset_confirm", args=[uid, token])  # type: ignore[union-attr]  # set on this path (checked by the caller / validated above)


def user_create(
    *,
    actor: User | None,
    organisation: Organisation,
    username: str,
    email: str,
    role: str,
    first_name: str = "",
    last_name: str = "",
    job_title: str = "",
    password: str | None = None,
    send_invite: bool = True,
) -> User:
    """Create a member. Without a password the account gets an unusable one and an invitation
    link (emailed, and returned to the admin) with which the person sets their own."""
    if actor is not None:
        _require_admin_of(actor, organisation)
    if role not in Role.values:
        raise ValidationFailed(f"Unknown role {role!r}; choose one of {', '.join(Role.values)}.", code="invalid_role")
    username = username.strip()
    if not username:
        raise ValidationFailed("A username is required.", code="username_required")
    user = User(
        organisation=organisation,
        username=username,
        email=email.strip(),
        role=role,
        first_name=first_name,
        last_name=last_name,
        job_title=job_title,
    )
    if password:
        try:
            validate_password(password, user)
        except DjangoValidationError as exc:
            raise ValidationFailed(" ".join(exc.messages), code="weak_password") from None
        user.set_password(password)
    else:
        user.set_unusable_password()
    try:
        with transaction.atomic():
            if User.objects.filter(username__iexact=username).exists():
                raise Conflict(f"The username {username!r} is already taken.", code="duplicate_username")
            user.save()
            audit_record(
                verb="user.created", target=user, actor=actor, organisation=organisation, after=_user_summary(user)
            )
    except IntegrityError:
        raise Conflict(f"The username {username!r} is already taken.", code="duplicate_username") from None
    if not password and send_invite and user.email:
        transaction.on_commit(lambda: _send_invite(user))
    return user


def _send_invite(user: User) -> None:
    send_mail(
        subject="Your AI Governance Portal account",
        message=(
            f"An account was created for you in {user.organisation}.\n\n"
            f"Set your password here (the link works once): {invite_link(user)}\n"
        ),
        from_email=None,
        recipient_list=[user.email],
        fail_silently=True,
    )


def user_change_role(*, actor: User, user: User, role: str, reason: str = "") -> User:
    _require_admin_of(actor, user.organisation)  # type: ignore[arg-type]  # organisation_id is nullable only for platform users, who never reach a service
    if role not in Role.values:
        raise ValidationFailed(f"Unknown role {role!r}.", code="invalid_role")
    if user.pk == actor.pk and role != Role.ORG_ADMIN:
        raise ValidationFailed("You cannot remove your own admin role; ask another admin.", code="self_demotion")
    with transaction.atomic():
        locked = User.objects.select_for_update().get(pk=user.pk)
        before = locked.role
        if before == role:
            return locked
        locked.role = role
        locked.save(update_fields=["role"])
        audit_record(
            verb="user.role_changed",
            target=locked,
            actor=actor,
            before={"role": before},
            after={"role": role},
            reason=reason,
        )
    return locked


def user_set_active(*, actor: User, user: User, active: bool, reason: str = "") -> User:
    _require_admin_of(actor, user.organisation)  # type: ignore[arg-type]  # organisation_id is nullable only for platform users, who never reach a service
    if user.pk == actor.pk and not active:
        raise ValidationFailed("You cannot deactivate your own account.", code="self_deactivation")
    with transaction.atomic():
        locked = User.objects.select_for_update().get(pk=user.pk)
        if locked.is_active == active:
            return locked
        locked.is_active = active
        locked.save(update_fields=["is_active"])
        if not active:
            ApiToken.objects.filter(user=locked).delete()
        audit_record(
            verb="user.activated" if active else "user.deactivated",
            target=locked,
            actor=actor,
            before={"is_active": not active},
            after={"is_active": active},
            reason=reason,
        )
    return locked


def user_password_reset_link(*, actor: User, user: User) -> str:
    """A link with which a member who forgot their password sets a new one, for the admin to pass
    on (the portal may have no e-mail). It is Django's reset token: it stops working once used or
    once the password changes. Issuing it is recorded in the trail."""
    _require_admin_of(actor, user.organisation)  # type: ignore[arg-type]  # organisation_id is nullable only for platform users, who never reach a service
    if not User.objects.filter(pk=user.pk, is_active=True).exists():  # the stored state, not the caller's copy
        raise ValidationFailed(
            "Reactivate the account first: a deactivated user cannot set a password.", code="user_inactive"
        )
    with transaction.atomic():
        audit_record(verb="user.password_reset_link_issued", target=user, actor=actor)
    return invite_link(user)


def api_token_create(*, actor: User, name: str) -> tuple[ApiToken, str]:
    """Create an API token; the secret is returned once and only its hash is stored."""
    if not name.strip():
        raise ValidationFailed("Give the token a name, e.g. the CI pipeline that will use it.", code="name_required")
    with transaction.atomic():
        instance, secret = ApiToken.objects.create(user=actor, name=name.strip()[:80])
        audit_record(
            verb="api_token.created",
            actor=actor,
            target=actor,
            after={
                "name": name.strip()[:80],
                "token_prefix": instance.token_key,
                "expiry": instance.expiry.isoformat() if instance.expiry else None,
            },
        )
    return instance, secret


def api_token_revoke(*, actor: User, token_key: str) -> None:
    with transaction.atomic():
        deleted, _ = ApiToken.objects.filter(user=actor, token_key=token_key).delete()
        if not deleted:
            raise ValidationFailed("No such token.", code="not_found")
        audit_record(verb="api_token.revoked", actor=actor, target=actor, after={"token_prefix": token_key})
