"""Re-consent: a new version of a consent form asks the clients who signed an older version to sign it."""

from __future__ import annotations

import pytest

from engine.authz import SYSTEM
from engine.models.forms import FormDefinition, FormVersion, Submission
from engine.models.workflow import ProcessInstance, Task
from engine.services.forms import forms
from engine.services.intake.reconsent import is_consent_form
from tests import intake_lifecycle as lc
from tests.helpers import make_client, make_portal_account


def _signed(client, key: str, number: int) -> None:
    version = FormVersion.objects.get(key=key, number=number)
    Submission(
        form_key=key, form_version=version.id, version_number=number, client=client.id, status="completed"
    ).save()


def _publish_new_version(key: str) -> None:
    form = FormDefinition.objects.get(key=key)
    draft = dict(form.draft, title="Consent (revised)")
    forms.update_draft(SYSTEM, key, draft)
    forms.publish(SYSTEM, key)


@pytest.fixture()
def signers(installed, smtp):
    lc.configure(reminder_max=0)
    people = {}
    for name in ("old", "current", "unsigned"):
        people[name] = make_client(first_name=name.title(), email=f"{name}@example.org")
        make_portal_account(client=people[name])
    _signed(people["old"], "consent_adult", 1)
    return people


def _asked(client) -> list[str]:
    for instance in ProcessInstance.objects(client_id=client.id, status="running"):
        lc.perform_all(instance.id)  # the invitation mail, as the worker would
    return [t.form_key for t in Task.objects(client_id=client.id, status="open")]


def test_new_consent_version_asks_earlier_signers(signers):
    """Does publishing version 2 of a consent form give exactly the clients who signed version 1 a task
    to sign it, once?"""
    assert is_consent_form(FormVersion.objects.get(key="consent_adult", number=1).definition, "intake")
    _publish_new_version("consent_adult")
    _signed(signers["current"], "consent_adult", 2)
    assert _asked(signers["old"]) == ["consent_adult"]
    assert _asked(signers["current"]) == [] and _asked(signers["unsigned"]) == []
    task = Task.objects.get(client_id=signers["old"].id, status="open")
    assert task.form_version_id == str(FormVersion.objects.get(key="consent_adult", number=2).id)
    _publish_new_version("consent_adult")  # version 3 while the request is open: not asked twice
    assert _asked(signers["old"]) == ["consent_adult"]


def test_setting_off_or_not_a_consent_form_asks_nobody(signers):
    """With reconsent_on_new_version off, or for a form without a signature, is nobody asked?"""
    lc.configure(reconsent_on_new_version=False)
    _publish_new_version("consent_adult")
    assert _asked(signers["old"]) == []
    lc.configure(reconsent_on_new_version=True)
    _signed(signers["old"], "gad7", 1)
    _publish_new_version("gad7")
    assert _asked(signers["old"]) == []
