"""TOTP second factor (RFC 6238 via pyotp): setup, confirmation, and one-time use of each code.

The shared secret is encrypted with a key derived from PORTICO_SECRET_KEY, so
a copy of the database alone cannot mint codes. A code is accepted once: the
account keeps the last accepted time step and a compare-and-set refuses that
step and every older one, also when two requests race with the same code.

Six digits are guessable at speed, and the web's per-address throttle does not stop someone who
has the password and many addresses. So wrong codes are also counted per account, from anywhere:
after MAX_FAILURES within FAILURE_WINDOW the account takes no code at all (not even the right one)
until the oldest of them is FAILURE_WINDOW old, and callers void every login waiting for a code.
That bounds guessing to MAX_FAILURES codes per window, whatever the number of addresses.
"""

from __future__ import annotations

import base64
import hmac
import os
import time
from datetime import timedelta

import pyotp
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from engine import config, persistence
from engine.errors import ValidationFailed
from engine.models import aware, utcnow
from engine.models.organization import Organization

ISSUER = "Portico"
STEP_SECONDS = 30
DRIFT_STEPS = 1  # accept the previous and next step too: phones drift
_ENC_PREFIX = "v1:"
# Per address the web allows 5 wrong codes a minute; per account, from everywhere together, this many
# per window: at most 960 guesses a day at 3 valid codes in a million (NIST SP 800-63B allows 100 in a row).
MAX_FAILURES = 10
FAILURE_WINDOW = timedelta(minutes=15)


def _cipher() -> AESGCM:
    return AESGCM(config.current().derived_key("totp-secret"))


def seal(secret: str) -> str:
    nonce = os.urandom(12)
    return _ENC_PREFIX + base64.b64encode(nonce + _cipher().encrypt(nonce, secret.encode(), b"totp")).decode()


def unseal(stored: str) -> str:
    """The plain base32 secret, or "" when missing or not decryptable (wrong key or tampered)."""
    if not stored.startswith(_ENC_PREFIX):
        return ""
    blob = base64.b64decode(stored[len(_ENC_PREFIX) :])
    try:
        return _cipher().decrypt(blob[:12], blob[12:], b"totp").decode()
    except (InvalidTag, ValueError):
        return ""


def is_required(account) -> bool:
    """Must this account pass a second factor at login? Whenever it has MFA on, or policy demands it."""
    return bool(account.mfa_enabled) or policy_requires(account)


def policy_requires(account) -> bool:
    """Does policy demand MFA? Staff in production; portal accounts when the org says so."""
    if account.kind == "staff":
        return config.current().production
    return bool(Organization.get().portal.require_mfa_for_portal)


def begin_setup(account) -> dict:
    """Start (or restart) MFA setup: a new pending secret; returns {"secret", "uri"} to show once."""
    secret = pyotp.random_base32()
    account.totp_pending_secret = seal(secret)
    account.save()
    uri = pyotp.TOTP(secret).provisioning_uri(name=account.email, issuer_name=ISSUER)
    return {"secret": secret, "uri": uri}


def pending_setup(account) -> dict | None:
    """The pending secret and URI again (page reload during setup), or None."""
    secret = unseal(account.totp_pending_secret or "")
    if not secret:
        return None
    return {
        "secret": secret,
        "uri": pyotp.TOTP(secret).provisioning_uri(name=account.email, issuer_name=ISSUER),
    }


def _matching_step(secret: str, code: str, now: float | None = None) -> int | None:
    code = (code or "").strip().replace(" ", "")
    if not (code.isdigit() and len(code) == 6):
        return None
    totp = pyotp.TOTP(secret)
    current = int((now if now is not None else time.time()) // STEP_SECONDS)
    for step in range(current - DRIFT_STEPS, current + DRIFT_STEPS + 1):
        if hmac.compare_digest(totp.at(step * STEP_SECONDS), code):
            return step
    return None


def _consume_step(account, step: int) -> bool:
    """Atomically record `step` as used; False when it (or a later one) was used already."""
    updated = (
        type(account).objects(id=account.id, totp_last_step__lt=step).update_one(set__totp_last_step=step)
    )
    if updated:
        account.totp_last_step = step
    return bool(updated)


def confirm_setup(account, code: str) -> None:
    """Turn MFA on with the pending secret once `code` proves the authenticator has it.

    Raises ValidationFailed {"code": [...]} when there is no pending setup or the code is wrong.
    """
    secret = unseal(account.totp_pending_secret or "")
    if not secret:
        raise ValidationFailed("start MFA setup first", details={"code": ["no MFA setup in progress"]})
    step = _matching_step(secret, code)
    if step is None or not _consume_step(account, step):
        raise ValidationFailed("that code is not valid", details={"code": ["code is wrong or already used"]})
    type(account).objects(id=account.id).update_one(
        set__totp_secret=account.totp_pending_secret, set__totp_pending_secret="", set__mfa_enabled=True
    )
    account.reload()


def verify(account, code: str) -> bool:
    """Is `code` a valid, never used code for the account's confirmed secret? Uses it up when it is.

    A wrong code counts against the account; while `locked(account)`, every code is refused unread.
    """
    secret = unseal(account.totp_secret or "") if account.mfa_enabled else ""
    if not secret or locked(account):
        return False
    step = _matching_step(secret, code)
    if step is not None and _consume_step(account, step):
        if account.totp_failures:
            type(account).objects(id=account.id).update_one(set__totp_failures=[])
            account.totp_failures = []
        return True
    _count_failure(account)
    return False


def _recent_failures(account, now) -> int:
    return sum(1 for at in account.totp_failures or [] if aware(at) > now - FAILURE_WINDOW)


def locked(account) -> bool:
    """Have MAX_FAILURES wrong codes come for this account within FAILURE_WINDOW (from any address)?"""
    return _recent_failures(account, utcnow()) >= MAX_FAILURES


def _count_failure(account) -> None:
    """Record a wrong code in one atomic update (racing requests each count); keeps the newest few."""
    found = persistence.update_then_read(
        persistence.collection(type(account)),
        {"_id": account.id},
        {"$push": {"totp_failures": {"$each": [utcnow()], "$slice": -MAX_FAILURES}}},
        projection={"totp_failures": 1},
    )
    account.totp_failures = (found or {}).get("totp_failures", [])


def disable(account) -> None:
    """Turn MFA off (admin reset or the user's own choice where not required)."""
    type(account).objects(id=account.id).update_one(
        set__totp_secret="", set__totp_pending_secret="", set__mfa_enabled=False
    )
    account.reload()
